// QA model for the priors (tests/test_estimation_dynare_qa.py): qa_nk.mod with other priors —
// inverse gammas (type 1 and 2) with a lower bound p3, normal with p3/p4, gamma with p3, beta with
// declared bounds, uniform by bounds, weibull. Dynare run: run_dynare.sh qa_priors (+ tails/qa_priors.tail).
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
end;
varobs y pi r;
estimated_params;
stderr e_g, inv_gamma_pdf, 0.5, inf, 0.1, ;
stderr e_u, inv_gamma2_pdf, 0.3, inf;
stderr e_r, inv_gamma2_pdf, 0.1, 0.05, 0.01, ;
sig, normal_pdf, 1.5, 0.4, 1, 3;
kap, gamma_pdf, 0.15, 0.05, 0.02, ;
phi_pi, gamma_pdf, 1.5, 0.25, 1, ;
phi_y, beta_pdf, 0.3, 0.1;
rho_g, 0.8, 0.05, 0.99, beta_pdf, 0.5, 0.2;
rho_u, uniform_pdf, , , 0.1, 0.95;
rho_r, weibull_pdf, 0.5, 0.2;
end;
