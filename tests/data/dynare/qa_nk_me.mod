// QA model with measurement errors (`var pi; stderr 0.1;` in shocks, `stderr y` and `corr y, pi` estimated) (tests/test_estimation_dynare_qa.py); written from the
// textbook 3-equation NK model. Data: qa_nk_data.csv (simulated once, NaN = missing).
// Dynare run: tests/data/dynare/run_dynare.sh qa_nk_me (= this file + tails/qa_nk_me.tail).
var y pi r g u;
varexo e_g e_u e_r;
parameters bet sig kap phi_pi phi_y rho_g rho_u rho_r;
bet = 0.99; sig = 1.5; kap = 0.12; phi_pi = 1.6; phi_y = 0.3;
rho_g = 0.8; rho_u = 0.6; rho_r = 0.5;
model(linear);
y = y(+1) - (1/sig)*(r - pi(+1)) + g;
pi = bet*pi(+1) + kap*y + u;
r = rho_r*r(-1) + (1-rho_r)*(phi_pi*pi + phi_y*y) + e_r;
g = rho_g*g(-1) + e_g;
u = rho_u*u(-1) + e_u;
end;
shocks;
var e_g; stderr 0.6;
var e_u; stderr 0.3;
var e_r; stderr 0.25;
var pi; stderr 0.1;
end;
varobs y pi r;
estimated_params;
stderr e_g, inv_gamma_pdf, 0.5, inf;
stderr e_u, inv_gamma_pdf, 0.3, 0.2;
stderr e_r, inv_gamma2_pdf, 0.1, 0.05;
stderr y, inv_gamma_pdf, 0.2, inf;
corr y, pi, uniform_pdf, , , -0.5, 0.5;
corr e_g, e_u, beta_pdf, 0, 0.3, -1, 1;
sig, normal_pdf, 1.5, 0.4;
kap, 0.12, 0.01, 0.5, gamma_pdf, 0.15, 0.05;
phi_pi, gamma_pdf, 1.5, 0.25;
phi_y, uniform_pdf, , , 0, 1;
rho_g, beta_pdf, 0.5, 0.2;
rho_u, beta_pdf, 0.5, 0.15, 0.1, 0.95;
rho_r, uniform_pdf, 0.5, 0.2;
end;
