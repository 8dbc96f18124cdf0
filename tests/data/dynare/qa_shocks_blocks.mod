// Several shocks blocks: Dynare evaluates each block into M_.Sigma_e when it runs (variances, then
// covariances / correlations of the block). A later block that changes the stderr of a shock keeps the
// covariance an earlier 'corr' produced (the correlation moves); a later 'corr w, v' replaces an
// earlier 'var v, w' covariance (written in the other order); pairs not touched stay as they were.
var y x z q;
varexo e u v w;
parameters s;
s = 0.1;
model;
y = 0.5*y(-1) + e;
x = 0.3*x(-1) + u + y;
z = 0.7*z(-1) + v + 0.2*w;
q = 0.4*q(+1) + w + x;
end;
steady_state_model; y = 0; x = 0; z = 0; q = 0; end;
shocks;
corr e, u = 0.3;
var e; stderr s;
var u; stderr 0.2;
var v; stderr 0.05;
var w; stderr 0.04;
var v, w = 0.001;
end;
shocks;
var e; stderr 0.3;
corr w, v = 0.25;
end;
s = 0.7;
stoch_simul(order=1, irf=4, nograph);
write_json('qa_shocks_blocks.json', setfield(setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}), 'Sigma_e', struct('json_matrix_', M_.Sigma_e)));
