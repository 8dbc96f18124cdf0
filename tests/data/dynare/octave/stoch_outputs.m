function out = stoch_outputs(M_, oo_, options_, var_list)
% STOCH_OUTPUTS  What the preceding stoch_simul left in oo_ (order 1), for the stoch_simul output
%   tests: var_list (the statement's variable list; declared names when empty), options, oo_.irfs,
%   oo_.mean, oo_.var, oo_.autocorr{L} (full matrices), oo_.gamma_y{1} (covariance, as stored),
%   oo_.variance_decomposition, oo_.conditional_variance_decomposition (variables x horizons x
%   shocks, flattened per shock), and the simulated-moment fields when periods > 0.
  out = solution_struct(M_, oo_, options_);
  if isempty(var_list)
    var_list = M_.endo_names(1:M_.orig_endo_nbr);
  end
  out.varlist = var_list(:)';
  opt = struct();
  opt.irf = options_.irf; opt.ar = options_.ar; opt.hp_filter = options_.hp_filter;
  opt.bandpass_active = options_.bandpass.indicator; opt.bandpass = options_.bandpass.passband(:)';
  opt.relative_irf = options_.relative_irf; opt.periods = options_.periods;
  opt.nocorr = options_.nocorr; opt.nomoments = options_.nomoments; opt.grid = options_.filtered_theoretical_moments_grid;
  opt.conditional_variance_decomposition = options_.conditional_variance_decomposition(:)';
  out.options = opt;
  f = {'mean', 'var', 'variance_decomposition', 'skewness', 'kurtosis'};
  for i = 1:numel(f)
    if isfield(oo_, f{i}) && ~isempty(oo_.(f{i}))
      out.(['oo_' f{i}]) = struct('json_matrix_', oo_.(f{i}));
    end
  end
  if isfield(oo_, 'autocorr') && ~isempty(oo_.autocorr)
    mats = cell(1, numel(oo_.autocorr));
    for L = 1:numel(oo_.autocorr)
      mats{L} = struct('json_matrix_', oo_.autocorr{L});
    end
    out.oo_autocorr = mats;
  end
  if isfield(oo_, 'gamma_y') && ~isempty(oo_.gamma_y)
    out.oo_gamma_y_1 = struct('json_matrix_', oo_.gamma_y{1});
  end
  if isfield(oo_, 'conditional_variance_decomposition') && ~isempty(oo_.conditional_variance_decomposition)
    c = oo_.conditional_variance_decomposition;     % variables x horizons x shocks
    per = cell(1, size(c, 3));
    for j = 1:size(c, 3)
      per{j} = struct('json_matrix_', c(:, :, j));
    end
    out.oo_conditional_variance_decomposition = per;   % one matrix per shock: variables x horizons
  end
  if isfield(oo_, 'contemporaneous_correlation') && ~isempty(oo_.contemporaneous_correlation)
    out.oo_contemporaneous_correlation = struct('json_matrix_', oo_.contemporaneous_correlation);
  end
end
