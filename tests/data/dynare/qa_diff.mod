// Dynare's diff() operator: diff(e) = e - e(-1) on an expression (log of a variable), a lead and a shock.
// y is output in levels, gy its log growth, p a price level with a forward-looking growth rate.
var y gy p dp a;
varexo e u;
parameters rho kap;
rho = 0.7; kap = 0.3;
model;
a = rho*a(-1) + e;
log(y) = a;
gy = diff(log(y));
dp = 0.5*diff(p(+1)) + kap*gy + diff(u);
p = p(-1) + dp - 0.9*dp(-1);
end;
steady_state_model;
a = 0; y = 1; gy = 0; dp = 0; p = 0;
end;
shocks; var e; stderr 0.01; var u; stderr 0.005; end;
stoch_simul(order=1, irf=8, ar=2, nograph) y gy dp a;

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_diff.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
