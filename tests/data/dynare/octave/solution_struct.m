function out = solution_struct(M_, oo_, options_)
% SOLUTION_STRUCT  First-order solution of the last stoch_simul in declaration order.
%   Rows of ghx/ghu: the declared endogenous variables (M_.orig_endo_nbr of them, declaration
%   order), obtained from Dynare's DR order with oo_.dr.inv_order_var.  Columns of ghx: the
%   state variables (oo_.dr.state_var) sorted into declaration order, written name(-1).
%   Columns of ghu: shocks in declaration order.  For loglinear models these are the rules
%   in log deviations, exactly as Dynare stores them.
  n = M_.orig_endo_nbr;
  names = M_.endo_names(:)';
  out = struct();
  out.model = M_.fname;
  out.dynare_version = M_.dynare_version;
  out.loglinear = logical(options_.loglinear);
  out.variables = names(1:n);
  out.all_variables = names;          % including Dynare's auxiliary variables
  out.shocks = M_.exo_names(:)';
  out.parameters = param_struct(M_);
  sd = sqrt(diag(M_.Sigma_e));
  out.shock_stderr = struct();
  for j = 1:M_.exo_nbr
    out.shock_stderr.(M_.exo_names{j}) = sd(j);
  end
  % After stoch_simul(loglinear) Dynare 5.3 holds oo_.steady_state and oo_.dr.ys in LOGS.
  % steady_state below is always in levels (exp of Dynare's values for loglinear models);
  % dr_ys is Dynare's oo_.dr.ys as stored (logs for loglinear models).
  ss = struct(); drys = struct();
  for j = 1:n
    if options_.loglinear
      ss.(names{j}) = exp(oo_.dr.ys(j));
    else
      ss.(names{j}) = oo_.dr.ys(j);
    end
    drys.(names{j}) = oo_.dr.ys(j);
  end
  out.steady_state = ss;
  out.dr_ys = drys;
  [sv, perm] = sort(oo_.dr.state_var);
  ghx = oo_.dr.ghx(oo_.dr.inv_order_var, :);
  ghx = ghx(1:n, perm);
  ghu = oo_.dr.ghu(oo_.dr.inv_order_var, :);
  ghu = ghu(1:n, :);
  cols = cellfun(@(s) [s '(-1)'], names(sv), 'UniformOutput', false);
  out.ghx = struct('rows', {out.variables}, 'cols', {cols}, 'values', struct('json_matrix_', ghx));
  out.ghu = struct('rows', {out.variables}, 'cols', {out.shocks}, 'values', struct('json_matrix_', ghu));
  ev = oo_.dr.eigval(:);
  out.eigenvalues = struct('json_matrix_', [real(ev) imag(ev)]);  % Dynare's order; inf -> null
  out.eigenvalue_moduli = abs(ev)';
  out.dr_order_var = oo_.dr.order_var(:)';
  out.nstatic = M_.nstatic; out.npred = M_.npred; out.nboth = M_.nboth; out.nfwrd = M_.nfwrd;
  if isfield(oo_, 'irfs') && ~isempty(oo_.irfs)
    out.irf_periods = options_.irf;
    out.irfs = oo_.irfs;              % <var>_<shock>, period 1 = impact, 1-s.d. shock
  end
  if isfield(oo_, 'var') && ~isempty(oo_.var)
    m = struct();
    nv = size(oo_.var, 1);
    m.variables = names(1:nv);
    m.var = struct('json_matrix_', oo_.var);
    m.std = sqrt(diag(oo_.var))';
    if isfield(oo_, 'autocorr') && ~isempty(oo_.autocorr)
      ac = zeros(nv, numel(oo_.autocorr));
      mats = cell(1, numel(oo_.autocorr));
      for L = 1:numel(oo_.autocorr)
        ac(:, L) = diag(oo_.autocorr{L});
        mats{L} = struct('json_matrix_', oo_.autocorr{L});
      end
      m.autocorr = struct('json_matrix_', ac);   % rows = variables, cols = lags 1..
      m.autocorr_matrices = mats;                % corr(y_t, y_{t-L}) full matrices
    end
    if isfield(oo_, 'variance_decomposition') && ~isempty(oo_.variance_decomposition)
      m.variance_decomposition_percent = struct('json_matrix_', oo_.variance_decomposition);
    end
    out.moments = m;
  end
end

function p = param_struct(M_)
  p = struct();
  for j = 1:numel(M_.params)
    p.(M_.param_names{j}) = M_.params(j);
  end
end
