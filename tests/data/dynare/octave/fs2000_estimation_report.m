function out = fs2000_estimation_report(with_mh, wall_seconds)
% FS2000_ESTIMATION_REPORT  Posterior mode (and, with_mh, Metropolis-Hastings) results of
%   the preceding `estimation` command, from oo_ and the MH history files.
%   Parameter vectors are in Dynare's xparam1 order (out.estimated_parameters).
  global M_ options_ oo_ estim_params_ bayestopt_ dataset_ dataset_info
  names = bayestopt_.name(:)';
  for j = 1:estim_params_.nvx     % shock standard deviations come first; name them as elsewhere
    names{j} = ['stderr ' names{j}];
  end
  out = struct();
  out.estimated_parameters = names;
  out.priors = prior_table(bayestopt_, names);
  out.mode_compute = options_.mode_compute;
  out.nobs = options_.nobs;
  opt = oo_.posterior.optimization;
  out.mode = opt.mode(:)';
  out.mode_std = sqrt(diag(opt.Variance))';
  out.inverse_hessian = struct('json_matrix_', opt.Variance);
  out.log_posterior_at_mode = opt.log_density;
  out.log_data_density_laplace = oo_.MarginalDensity.LaplaceApproximation;
  % log-likelihood at the mode: log posterior minus log prior
  lnprior = priordens(opt.mode(:), bayestopt_.pshape, bayestopt_.p6, bayestopt_.p7, bayestopt_.p3, bayestopt_.p4);
  out.log_prior_at_mode = lnprior;
  out.log_likelihood_at_mode = opt.log_density - lnprior;
  out.posterior_mode = oo_.posterior_mode;            % Dynare's named structs
  out.posterior_std_at_mode = oo_.posterior_std_at_mode;
  if nargin > 1
    out.wall_seconds = wall_seconds;
  end
  % accuracy of the mode: central-difference gradient of the log posterior kernel at the mode
  % (steps 1e-4 posterior std) and the Newton step inverse_hessian*gradient it implies
  opts = select_qz_criterium_value(options_);
  bounds = prior_bounds(bayestopt_, opts.prior_trunc);
  lp = @(x) -dsge_likelihood(x, dataset_, dataset_info, opts, M_, estim_params_, bayestopt_, bounds, oo_);
  x0 = opt.mode(:);
  sd = sqrt(diag(opt.Variance));
  g = zeros(numel(x0), 1);
  for j = 1:numel(x0)
    h = 1e-4*sd(j);
    e = zeros(size(x0)); e(j) = h;
    g(j) = (lp(x0 + e) - lp(x0 - e))/(2*h);
  end
  out.log_posterior_at_mode_recomputed = lp(x0);
  out.gradient_at_mode = g';
  out.newton_step = (opt.Variance*g)';
  out.newton_step_over_std = ((opt.Variance*g)./sd)';
  if with_mh
    mh = struct();
    mh.mh_replic = options_.mh_replic;
    mh.mh_nblocks = options_.mh_nblck;
    mh.mh_jscale = options_.mh_jscale;
    mh.mh_drop = options_.mh_drop;
    MetropolisFolder = CheckPath('metropolis', M_.dname);
    record = load_last_mh_history_file(MetropolisFolder, M_.fname);
    mh.acceptance_ratio_per_chain = record.AcceptanceRatio(:)';
    mh.seeds_note = 'Dynare default seeds (set_dynare_seed default)';
    if exist('mh_chain_times.json', 'file')
      mh.chains_in_parallel_processes = true;
      mh.chain_times = jsondecode(fileread('mh_chain_times.json'));
    else
      mh.chains_in_parallel_processes = false;
    end
    mh.log_data_density_mhm = oo_.MarginalDensity.ModifiedHarmonicMean;
    mh.posterior_mean = oo_.posterior_mean;
    mh.posterior_median = oo_.posterior_median;
    mh.posterior_std = oo_.posterior_std;
    mh.posterior_hpdinf = oo_.posterior_hpdinf;
    mh.posterior_hpdsup = oo_.posterior_hpdsup;
    mh.hpd_probability = options_.mh_conf_sig;
    if isfield(oo_.posterior, 'metropolis')
      mh.metropolis_mean = oo_.posterior.metropolis.mean(:)';
      mh.metropolis_variance = struct('json_matrix_', oo_.posterior.metropolis.Variance);
    end
    % the same statistics from the raw chains with a 20 % burn-in (computed here, not by Dynare)
    draws = cell(1, options_.mh_nblck);
    for b = 1:options_.mh_nblck
      xb = [];
      for f = 1:record.LastFileNumber
        s = load(fullfile(MetropolisFolder, sprintf('%s_mh%d_blck%d.mat', M_.fname, f, b)), 'x2');
        xb = [xb; s.x2];
      end
      draws{b} = xb;
    end
    n = size(draws{1}, 1);
    mh.draws_per_chain = n;
    for drop = [0.5 0.2]
      kept = [];
      for b = 1:numel(draws)
        kept = [kept; draws{b}(floor(drop*n)+1:end, :)];
      end
      fld = sprintf('own_stats_drop_%02d', round(100*drop));
      st = struct();
      st.mean = mean(kept, 1);
      st.std = std(kept, 0, 1);
      lo = zeros(1, size(kept, 2)); hi = lo;
      for j = 1:size(kept, 2)
        [lo(j), hi(j)] = shortest_interval(kept(:, j), options_.mh_conf_sig);
      end
      st.hpd_low = lo; st.hpd_high = hi;
      st.n_kept = size(kept, 1);
      mh.(fld) = st;
    end
    out.mh = mh;
  end
end

function [lo, hi] = shortest_interval(x, p)
% shortest interval containing a share p of the sorted draws (the usual HPD estimate)
  x = sort(x);
  n = numel(x);
  m = floor(p*n);
  w = x(m+1:n) - x(1:n-m);
  [~, k] = min(w);
  lo = x(k); hi = x(k+m);
end
