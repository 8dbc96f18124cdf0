// QA model (tests/test_estimation_dynare_qa.py): stochastic growth model in levels, estimated
// loglinear (logs of the data), varobs y c with NaN, data qa_rbc_data.csv with a date column.
// Dynare run: tests/data/dynare/run_dynare.sh qa_rbc_ll (= this file + tails/qa_rbc_ll.tail).
var c k y A G;
varexo e_a e_g;
parameters alph bet del rho_a rho_g gss;
alph = 0.33; bet = 0.99; del = 0.025; rho_a = 0.9; rho_g = 0.8; gss = 0.5;
model;
1/c = bet*(1/c(+1))*(alph*A(+1)*k^(alph-1) + 1 - del);
y = A*k(-1)^alph;
k = y - c - G + (1-del)*k(-1);
A = A(-1)^rho_a*exp(e_a);
G = G(-1)^rho_g*gss^(1-rho_g)*exp(e_g);
end;
steady_state_model;
A = 1; G = gss;
k = ((1/bet - 1 + del)/alph)^(1/(alph-1));
y = k^alph;
c = y - del*k - gss;
end;
shocks;
var e_a; stderr 0.01;
var e_g; stderr 0.02;
end;
varobs y c;
estimated_params;
stderr e_a, inv_gamma_pdf, 0.01, inf;
stderr e_g, inv_gamma_pdf, 0.02, 0.01;
alph, normal_pdf, 0.33, 0.05;
rho_a, beta_pdf, 0.85, 0.1;
rho_g, beta_pdf, 0.7, 0.15;
end;
estimation(datafile=qa_rbc_data, loglinear, mode_compute=0, mh_replic=0);
