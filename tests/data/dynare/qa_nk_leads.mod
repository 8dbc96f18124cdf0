// qa_nk_leads: QA model B: linear NK with long leads/lags, lagged shocks, correlated shocks
var x pi i r u a;
varexo e_r e_u e_i e_a;
parameters beta sigma kappa phi_pi phi_x rho_i rho_r rho_u theta rho_a;
beta = 0.99; sigma = 1; theta = 0.75;
kappa = (1-theta)*(1-beta*theta)/theta;
phi_pi = 1.5; phi_x = 0.5/4; rho_i = 0.6; rho_r = 0.8; rho_u = 0.5; rho_a = 0.7;

model(linear);
# rr = i - pi(+1);
x = 0.5*x(+1) + 0.5*x(-1) - sigma*(rr - r);
pi = beta*(0.7*pi(+1) + 0.3*pi(+2)) + kappa*x + u;
i = rho_i*i(-1) + (1-rho_i)*(phi_pi*(pi + pi(-1) + pi(-2) + pi(-3))/4 + phi_x*x) + e_i + 0.3*e_i(-1);
r = rho_r*r(-1) + e_r + 0.2*e_a(-2);
u = rho_u*u(-1) + e_u;
a = rho_a*a(-1) + e_a;
end;

shocks;
var e_r = 0.25;
var e_u; stderr 0.3;
var e_i; stderr 0.2;
var e_a; stderr 0.5;
corr e_r, e_u = 0.4;
var e_i, e_a = 0.02;
end;

stoch_simul(order=1, irf=15, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_nk_leads.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
