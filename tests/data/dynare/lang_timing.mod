// hand-written twin of the YAML model in tests/test_model_language_dynare.py: leads/lags beyond one period,
// a lagged shock, correlated shocks, normcdf/max/abs/sqrt, numeric steady state
var x w q s;
varexo e u;
parameters a b sd c3 d;
a = 0.5; b = 0.2; sd = 0.05; c3 = 512/1024; d = 0.3;
model;
x = a*x(-1) + b*x(-3) + e + 0.5*e(-2);
w = c3*w(+2) + x;
q = exp(d*x)*normcdf(w) + 0.1*max(q(-1), -10);
s = q^2 - 0.5*s(+1) + u + sqrt(abs(x - 1) + 1);
end;
initval; x = 0; w = 0; q = 0.5; s = 2; end;
steady;
check;
shocks; var e; stderr 0.1; var u; stderr 2*sd; corr e, u = 0.3; end;
stoch_simul(order=1, irf=20, nograph);
write_json('lang_timing.json', solution_struct(M_, oo_, options_));
