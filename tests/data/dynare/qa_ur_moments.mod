// Unit roots in stoch_simul: x is integrated (its growth dx is an AR(1)), q has a root of
// 0.9999995 (above 2 - qz_criterium = 1 - 1e-6, so Dynare treats it as a unit root too), z and w
// are stationary (w loads on dx(+1)). Dynare reports moments for the stationary variables and
// NaN for x and q; the conditional variance decomposition exists for all.
var x dx z w q;
varexo e u;
parameters rho;
rho = 0.5;
model;
dx = rho*dx(-1) + e;
x = x(-1) + dx;
z = 0.8*z(-1) + u + 0.3*e;
w = z + 0.1*dx(+1);
q = 0.9999995*q(-1) + u;
end;
steady_state_model;
dx = 0; x = 0; z = 0; w = 0; q = 0;
end;
shocks; var e; stderr 0.01; var u; stderr 0.02; corr e, u = 0.2; end;
stoch_simul(order=1, irf=5, ar=2, conditional_variance_decomposition=[1 3], nograph);
write_json('qa_ur_moments.json', stoch_outputs(M_, oo_, options_, var_list_));
