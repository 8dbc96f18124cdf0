// asin and acos (Dynare 5.3 has both in the model block; sinh, cosh, asinh, acosh, atanh and erfc it
// refuses as undeclared external functions), away from their kinks, in the model and in initval.
var y z w;
varexo e u;
parameters rho;
rho = 0.6;
model;
y = rho*y(-1) + e;
z = asin(0.3 + 0.2*y) + 0.4*z(+1) - 0.1*w;
w = acos(0.5 - 0.2*y(-1) + 0.1*z) + 0.3*w(-1) + u;
end;
initval; y = 0; z = asin(0.3); w = acos(0.5); end;
steady;
shocks; var e; stderr 0.05; var u; stderr 0.02; end;
stoch_simul(order=1, irf=6, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_trig.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
