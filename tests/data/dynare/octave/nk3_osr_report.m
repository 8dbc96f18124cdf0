function out = nk3_osr_report(calib_params, calib_var, osr_res)
% NK3_OSR_REPORT  Optimal simple rule results for nk3: loss = sum_ij W_ij Cov(y_i, y_j) with
%   Dynare's optim_weights (M_.osr.variable_weights), at the calibration and at the optimum.
  global M_ options_ oo_
  W = full(M_.osr.variable_weights);
  out = struct();
  out.weights = struct('json_matrix_', W);
  out.variables = M_.endo_names(:)';
  out.osr_params = M_.param_names(M_.osr.param_indices)';
  out.bounds = struct('json_matrix_', M_.osr.param_bounds);
  % at the calibration: from stoch_simul's oo_.var (declaration order) and from osr_obj
  out.calibration = calib_params(M_.osr.param_indices)';
  out.loss_at_calibration_from_var = full(W(:)' * calib_var(:));
  i_var = unique(M_.osr.variable_indices);
  if isempty(options_.qz_criterium)   % as osr.m does
    options_.qz_criterium = 1 + 1e-6;
  end
  oo_.dr = set_state_space(oo_.dr, M_, options_);
  M0 = M_;
  M_.params = calib_params;
  out.loss_at_calibration_osr_obj = osr_obj(calib_params(M_.osr.param_indices), M_.osr.param_indices, ...
      oo_.dr.inv_order_var(i_var), W(i_var, i_var));
  M_ = M0;
  if ~isempty(osr_res)
    out.optimum = cellfun(@(n) osr_res.optim_params.(n), out.osr_params);
    out.loss_at_optimum = osr_res.objective_function;
    out.opt_algo = options_.osr.opt_algo;
    M_.params = calib_params;
    M_.params(M_.osr.param_indices) = out.optimum;
    out.loss_at_optimum_osr_obj = osr_obj(out.optimum(:), M_.osr.param_indices, ...
        oo_.dr.inv_order_var(i_var), W(i_var, i_var));
    M_ = M0;
  end
end
