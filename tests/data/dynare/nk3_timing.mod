// nk3_timing: timing of stoch_simul on nk3; model part identical to nk3.mod.
// nk3: three-equation New Keynesian model of DESIGN section 3 (dsge_agents reference model).
// x: output gap, pi: inflation, i: policy rate, rn: natural rate (AR(1)).

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
stoch_simul(order=1, irf=40, nograph);

// mean wall / CPU time of the whole stoch_simul (solution, IRFs, moments, no printing) over 200 calls
options_.noprint = 1;
[info, oo_] = stoch_simul(M_, options_, oo_, var_list_);
nk_c0 = cputime; nk_t0 = tic;
for nk_j = 1:200
  [info, oo_] = stoch_simul(M_, options_, oo_, var_list_);
end
nk_tim = struct();
nk_tim.nk3_stoch_simul_s = toc(nk_t0)/200;
nk_tim.nk3_stoch_simul_cpu_s = (cputime - nk_c0)/200;
nk_tim.nk3_stoch_simul_repetitions = 200;
write_json('timings_nk3_part.json', nk_tim);
