// hand-written: min, max, abs and sign evaluated exactly at their kinks (steady state x = 0).
// Dynare 5.3 differentiates max(a, b) as (a > b) da + (b > a) db and min likewise, abs as sign,
// sign as 0: at a tie every derivative is 0. The YAML twin is in tests/test_model_language_dynare.py.
var x y z w;
varexo e;
parameters r;
r = 0.5;
model;
x = r*x(-1) + e;
y = max(x, 0) + 2*min(x, 0);
z = abs(x) + sign(x);
w = max(x, -x) + min(3*x, -x) + 0.5*w(-1);
end;
steady_state_model; x = 0; y = 0; z = 0; w = 0; end;
steady;
shocks; var e; stderr 0.1; end;
stoch_simul(order=1, irf=6, nograph);
write_json('lang_kinks.json', solution_struct(M_, oo_, options_));
