// qa_kinks: QA model G: max/min at a tie in the steady state (Dynare differentiates max(a, b) as
// da if a > b else db, min(a, b) as da if a < b else db: the argument order matters)
var y x w v q;
varexo e u;
model;
y = 0.5*y(-1) + max(0, x) + e;
w = min(0, x);
v = max(x, 0) + 2*min(x, 0);
q = max(x, -x) + 3*min(2*x, x);
x = 0.9*x(-1) + u;
end;
steady_state_model; y = 0; x = 0; w = 0; v = 0; q = 0; end;
shocks; var e; stderr 1; var u; stderr 1; end;
stoch_simul(order=1, irf=3, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_kinks.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
