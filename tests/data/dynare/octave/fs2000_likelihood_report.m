function out = fs2000_likelihood_report(calib_params, calib_Sigma_e, nrep)
% FS2000_LIKELIHOOD_REPORT  Log-likelihood, log prior and log posterior kernel of the
%   estimation set up by the preceding `estimation(..., mode_compute=0, mh_replic=0)`,
%   evaluated with dsge_likelihood at the CALIBRATION (values assigned in the .mod file,
%   captured before `estimation` ran).  dsge_likelihood returns
%   fval = -(log-likelihood) - log prior, so log-likelihood = -fval - log prior.
%   Evaluated for riccati_tol = -1 (exact Kalman filter: the switch test
%   max|K_t - K_{t-1}| > riccati_tol never fails), 0, and Dynare's default.
%   nrep > 0 also times dynare_resolve and dsge_likelihood (mean over nrep calls).
  global M_ options_ oo_ estim_params_ bayestopt_ dataset_ dataset_info
  % estimation restores qz_criterium to [] when it returns; set it as dynare_estimation_init does
  options_ = select_qz_criterium_value(options_);
  M_.params = calib_params;
  M_.Sigma_e = calib_Sigma_e;
  [names, x] = estimated_names(M_, estim_params_, calib_params, calib_Sigma_e);
  bounds = prior_bounds(bayestopt_, options_.prior_trunc);
  lnprior = priordens(x, bayestopt_.pshape, bayestopt_.p6, bayestopt_.p7, bayestopt_.p3, bayestopt_.p4);
  out = struct();
  out.estimated_parameters = names;
  out.x_calibration = x';
  out.priors = prior_table(bayestopt_, names);
  out.nobs = dataset_.nobs;
  out.first_obs = options_.first_obs;
  out.presample = options_.presample;
  out.lik_init = options_.lik_init;
  out.kalman_algo = options_.kalman_algo;
  out.observables = options_.varobs;
  out.data_used_log = dataset_.data;   % the data the filter sees (logs, loglinear)
  out.log_prior = lnprior;
  tols = [-1, 0, options_.riccati_tol];
  labels = {'exact', 'riccati_tol_0', 'default'};
  for j = 1:numel(tols)
    opts = options_;
    opts.riccati_tol = tols(j);
    [fval, info, exit_flag, DLIK] = dsge_likelihood(x, dataset_, dataset_info, opts, M_, estim_params_, bayestopt_, bounds, oo_);
    r = struct();
    r.riccati_tol = tols(j);
    r.info = info(1);
    r.minus_log_posterior_kernel = fval;
    r.log_posterior_kernel = -fval;
    r.log_likelihood = -fval - lnprior;
    r.loglik_per_period = -DLIK(2:end)';   % Gaussian constant included, period 1 first
    out.(labels{j}) = r;
  end
  out.default_riccati_tol = options_.riccati_tol;
  % independent route: Dynare's evaluate_likelihood (rebuilds the data set with makedataset)
  out.evaluate_likelihood_default = evaluate_likelihood(x, M_, estim_params_, oo_, options_, bayestopt_);
  opts = options_; opts.riccati_tol = -1;
  out.evaluate_likelihood_exact = evaluate_likelihood(x, M_, estim_params_, oo_, opts, bayestopt_);
  % log posterior kernel at the prior mean (= where estimation starts by default; Dynare prints it
  % as 'Initial value of the log posterior (or likelihood)')
  fvalp = dsge_likelihood(bayestopt_.p1(:), dataset_, dataset_info, options_, M_, estim_params_, bayestopt_, bounds, oo_);
  out.log_posterior_kernel_at_prior_mean = -fvalp;
  out.qz_criterium = options_.qz_criterium;
  % what `estimation` itself starts from (estimated_params without initial values)
  out.x_dynare_initial = bayestopt_.p5(:)';  % prior modes, for reference only
  out.estim_params_initial = [estim_params_.var_exo(:, 2); estim_params_.param_vals(:, 2)]';
  if nrep > 0
    % mean wall time (tic/toc) and mean CPU time (cputime) per call over nrep calls
    opts = options_;
    [out.timing_dynare_resolve_restrict_s, out.cpu_dynare_resolve_restrict_s] = ...
        time_it(@() dynare_resolve(M_, opts, oo_, 'restrict'), nrep);
    [out.timing_dynare_resolve_full_s, out.cpu_dynare_resolve_full_s] = ...
        time_it(@() dynare_resolve(M_, opts, oo_), nrep);
    [out.timing_dsge_likelihood_default_s, out.cpu_dsge_likelihood_default_s] = ...
        time_it(@() dsge_likelihood(x, dataset_, dataset_info, opts, M_, estim_params_, bayestopt_, bounds, oo_), nrep);
    opts.riccati_tol = -1;
    [out.timing_dsge_likelihood_exact_s, out.cpu_dsge_likelihood_exact_s] = ...
        time_it(@() dsge_likelihood(x, dataset_, dataset_info, opts, M_, estim_params_, bayestopt_, bounds, oo_), nrep);
    out.timing_repetitions = nrep;
  end
end

function [wall, cpu] = time_it(f, nrep)
  f();                       % warm-up (first call loads functions)
  c0 = cputime; t0 = tic;
  for j = 1:nrep
    f();
  end
  wall = toc(t0)/nrep;
  cpu = (cputime - c0)/nrep;
end
