function out = qa_lik_report(X, label)
% QA_LIK_REPORT  Log-likelihood, log prior and log posterior kernel (exact Kalman filter,
%   riccati_tol = -1) of the estimation set up by the preceding
%   `estimation(..., mode_compute=0, mh_replic=0)`, at each column of X (Dynare's xparam1
%   order, bayestopt_.name).  dsge_likelihood returns fval = -(log-likelihood) - log prior,
%   so log-likelihood = -fval - log prior.  Non-finite results are written as null.
%   log_likelihood_riccati_default: the same with Dynare's default riccati_tol (steady-state gain).
  global M_ options_ oo_ estim_params_ bayestopt_ dataset_ dataset_info
  options_ = select_qz_criterium_value(options_);
  bounds = prior_bounds(bayestopt_, options_.prior_trunc);
  out = struct();
  out.label = label;
  out.names = bayestopt_.name(:)';
  out.nobs = dataset_.nobs;
  out.first_obs = options_.first_obs;
  out.presample = options_.presample;
  out.lik_init = options_.lik_init;
  out.prefilter = options_.prefilter;
  out.loglinear = options_.loglinear;
  out.observables = options_.varobs;
  out.p6 = bayestopt_.p6(:)'; out.p7 = bayestopt_.p7(:)';
  out.p3 = bayestopt_.p3(:)'; out.p4 = bayestopt_.p4(:)';
  out.lb = bounds.lb(:)'; out.ub = bounds.ub(:)';
  opts = options_;
  opts.riccati_tol = -1;
  n = size(X, 2);
  out.x = struct('json_matrix_', X');
  out.info = zeros(1, n);
  out.log_prior = zeros(1, n);
  out.log_posterior_kernel = zeros(1, n);
  out.log_likelihood = zeros(1, n);
  out.riccati_tol_default = options_.riccati_tol;
  out.log_likelihood_riccati_default = zeros(1, n);   % Dynare's default filter (steady-state switch)
  for j = 1:n
    x = X(:, j);
    lnprior = priordens(x, bayestopt_.pshape, bayestopt_.p6, bayestopt_.p7, bayestopt_.p3, bayestopt_.p4);
    [fval, info] = dsge_likelihood(x, dataset_, dataset_info, opts, M_, estim_params_, bayestopt_, bounds, oo_);
    out.info(j) = info(1);
    out.log_prior(j) = lnprior;
    out.log_posterior_kernel(j) = -fval;
    out.log_likelihood(j) = -fval - lnprior;
    fval_d = dsge_likelihood(x, dataset_, dataset_info, options_, M_, estim_params_, bayestopt_, bounds, oo_);
    out.log_likelihood_riccati_default(j) = -fval_d - lnprior;
  end
end
