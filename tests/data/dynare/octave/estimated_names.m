function [names, x] = estimated_names(M_, estim_params_, params, Sigma_e)
% ESTIMATED_NAMES  Names and calibrated values of the estimated parameters in Dynare's
%   xparam1 order: standard deviations of shocks (estim_params_.var_exo), then the
%   structural parameters (estim_params_.param_vals).  Names: 'stderr <shock>' / '<param>'.
%   (fs2000 has no measurement errors and no correlations.)
  nvx = estim_params_.nvx;
  np = estim_params_.np;
  if estim_params_.nvn > 0 || estim_params_.ncx > 0 || estim_params_.ncn > 0
    error('estimated_names: measurement errors / correlations not handled');
  end
  names = cell(1, nvx + np);
  x = zeros(nvx + np, 1);
  for j = 1:nvx
    k = estim_params_.var_exo(j, 1);
    names{j} = ['stderr ' M_.exo_names{k}];
    x(j) = sqrt(Sigma_e(k, k));
  end
  for j = 1:np
    k = estim_params_.param_vals(j, 1);
    names{nvx + j} = M_.param_names{k};
    x(nvx + j) = params(k);
  end
end
