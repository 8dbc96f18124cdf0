// nk3: exported by dsge_agents from models/nk3.yaml

var x pi i rn;
varexo e_i e_r;
parameters beta sigma kappa phi_pi phi_x rho_i rho_r;

beta = 0.99;
sigma = 1.0;
kappa = 0.1;
phi_pi = 1.5;
phi_x = 0.125;
rho_i = 0.5;
rho_r = 0.8;

model;
sigma*(i - pi(+1) - rn) + x - x(+1) = 0;
-beta*pi(+1) - kappa*x + pi = 0;
[name = 'taylor_rule']
-e_i + i - i(-1)*rho_i - (1 - rho_i)*(phi_pi*pi + phi_x*x) = 0;
-e_r - rho_r*rn(-1) + rn = 0;
end;

steady_state_model;
x = 0;
pi = 0;
i = 0;
rn = 0;
end;

steady;
check;

shocks;
var e_i = 0.0625;
var e_r = 0.25;
end;

stoch_simul(order=1, irf=40, nograph);
