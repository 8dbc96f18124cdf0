// qa_kinks_numeric: QA model I: kinks at a NUMERIC steady state of exactly 0 (sign, abs, min, max) and
// normcdf/normpdf with mean and standard deviation
var y x w;
varexo e u;
model;
y = 0.5*y(-1) + max(x, 0) + e;
w = min(x, 0) + 0.1*abs(x) + 0.2*sign(x) + 0.3*normcdf(x, 1, 2) + 0.4*normpdf(x, 0.5, 1.5);
x = 0.9*x(-1) + u;
end;
shocks; var e; stderr 1; var u; stderr 1; end;
stoch_simul(order=1, irf=3, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_kinks_numeric.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
