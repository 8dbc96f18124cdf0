// Dynare's STEADY_STATE() operator: the steady-state value of a variable or an expression, a
// constant of the dynamic model and the expression itself in the static model (so it takes part in
// the numeric steady state: r = 0.3*STEADY_STATE(r) + ... pins r down), in a Taylor rule and a
// Phillips curve of a small RBC with a numeric steady state (initval + steady).
var y c k a pinf r;
varexo e_a e_r;
parameters alph bet delt rho_a phi pistar;
alph = 0.33; bet = 0.99; delt = 0.025; rho_a = 0.9; phi = 1.5; pistar = 0.005;
model;
1/c = bet/c(+1)*(alph*exp(a(+1))*k^(alph-1) + 1 - delt);
y = exp(a)*k(-1)^alph;
k = y - c + (1-delt)*k(-1);
a = rho_a*a(-1) + e_a;
pinf = 0.5*pinf(+1) + 0.5*pistar + 0.2*(log(y) - log(STEADY_STATE(y)));
r = 0.3*STEADY_STATE(r) + 0.7*(1/bet - 1 + phi*(pinf - STEADY_STATE(pinf)) + 0.1*(log(k) - STEADY_STATE(log(k)))) + e_r;
end;
initval; k = 30; c = 2; y = 3; a = 0; pinf = 0.01; r = 0.02; end;
steady;
shocks; var e_a; stderr 0.01; var e_r; stderr 0.002; end;
stoch_simul(order=1, irf=8, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_steady_state_op.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
