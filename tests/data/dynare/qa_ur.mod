// QA model (tests/test_estimation_dynare_qa.py): random walk plus AR(1), one observable; the
// stationary initialization is impossible, lik_init=2 (P1 = 10 I) works. Data: qa_ur_data.csv.
// Dynare run: run_dynare.sh qa_ur (= this file + tails/qa_ur.tail).
var x z yo;
varexo e u;
parameters rho;
rho = 0.5;
model(linear);
x = x(-1) + e;
z = rho*z(-1) + u;
yo = x + z;
end;
shocks;
var e; stderr 0.1;
var u; stderr 0.2;
end;
varobs yo;
estimated_params;
rho, beta_pdf, 0.5, 0.2;
stderr e, inv_gamma_pdf, 0.1, inf;
stderr u, inv_gamma_pdf, 0.2, inf;
end;
