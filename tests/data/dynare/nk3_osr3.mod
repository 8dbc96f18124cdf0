// nk3_osr3: optimal simple rule on nk3 (model part identical to nk3.mod), three rule parameters.
// Loss: 0.5*var(x) + var(pi) + var(i); phi_pi in [1.01, 4], phi_x in [0, 1], rho_i in [0, 0.95].
// CMA-ES (opt_algo=9; bounds need a constrained optimizer and fmincon is not in Octave) finds the corner
// phi_pi = 4, phi_x = 1 with rho_i interior.

var x pi i rn;
varexo e_i e_r;
parameters beta sigma kappa phi_pi phi_x rho_i rho_r;

beta   = 0.99;
sigma  = 1;
kappa  = 0.1;
phi_pi = 1.5;
phi_x  = 0.125;
rho_i  = 0.5;
rho_r  = 0.8;

model(linear);
x  = x(+1) - sigma*(i - pi(+1) - rn);
pi = beta*pi(+1) + kappa*x;
i  = rho_i*i(-1) + (1-rho_i)*(phi_pi*pi + phi_x*x) + e_i;
rn = rho_r*rn(-1) + e_r;
end;

steady_state_model;
x = 0;
pi = 0;
i = 0;
rn = 0;
end;

shocks;
var e_i; stderr 0.25;
var e_r; stderr 0.5;
end;

steady;
check;

// loss at the calibration
stoch_simul(order=1, irf=0, noprint, nograph);
osr_calib_params = M_.params;
osr_calib_var = oo_.var;

optim_weights;
x 0.5;
pi 1;
i 1;
end;

osr_params phi_pi phi_x rho_i;

osr_params_bounds;
phi_pi, 1.01, 4;
phi_x, 0, 1;
rho_i, 0, 0.95;
end;

osr(opt_algo=9, irf=0, noprint, nograph);
res_cmaes = nk3_osr_report(osr_calib_params, osr_calib_var, oo_.osr);
write_json('nk3_osr3.json', res_cmaes);
