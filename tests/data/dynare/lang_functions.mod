// hand-written: every documented function of the expression language, at a
// steady state away from kinks; the YAML twin is in tests/test_model_language_dynare.py
var x z1 z2 z3 z4 z5 z6;
varexo e;
parameters r;
r = 0.7;
model;
x = r*x(-1) + e;
z1 = exp(0.3*x) + log(2 + x) + ln(3 + x) + log10(4 + x) + sqrt(5 + x);
z2 = abs(x - 1) + sign(x - 2)*x + min(x + 1, 2*x + 3) + max(x - 1, -x - 3);
z3 = normcdf(x) + normcdf(x, 0.5, 2) + normpdf(x) + normpdf(x, -0.3, 1.5);
z4 = erf(0.4 + x) + sin(0.2 + x) + cos(0.1 + x) + tan(0.3 + x) + atan(0.6 + x) + (1 - 2/(exp(2*(0.5 + x)) + 1));  // tanh: not a Dynare 5.3 function
z5 = (1.5 + x)^0.3*z4(+1) * 0.2 + 0.1*z5(+1);
z6 = -(1.1 + x)^(2^0.5) + z5(-1);  // Dynare rejects a^b^c
end;
initval; x = 0; z1 = 5; z2 = 1; z3 = 1; z4 = 2; z5 = 0.5; z6 = 0; end;
steady;
check;
shocks; var e; stderr 0.1; end;
stoch_simul(order=1, irf=12, nograph);
write_json('lang_functions.json', solution_struct(M_, oo_, options_));
