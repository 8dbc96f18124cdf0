// asin, acos and cbrt (Dynare 5.3 has them in the model block; sinh, cosh, asinh, acosh, atanh and erfc it
// refuses as undeclared external functions), away from their kinks, in the model and in initval;
// cbrt of a positive value (for a negative argument Dynare 5.3 stops: its Jacobian is complex).
var y z w v;
varexo e u;
parameters rho;
rho = 0.6;
model;
y = rho*y(-1) + e;
z = asin(0.3 + 0.2*y) + 0.4*z(+1) - 0.1*w;
w = acos(0.5 - 0.2*y(-1) + 0.1*z) + 0.3*w(-1) + u;
v = cbrt(0.3*y + 8 + w) + 0.2*v(+1);
end;
initval; y = 0; z = asin(0.3); w = acos(0.5); v = 2.6; end;
steady;
shocks; var e; stderr 0.05; var u; stderr 0.02; end;
stoch_simul(order=1, irf=6, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_trig.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
