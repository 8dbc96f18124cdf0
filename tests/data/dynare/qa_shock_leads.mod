// qa_shock_leads: QA model F: leads of shocks u(+1), e(+2), '# locals' with timing and spaces inside x( -1 )
var y x z w;
varexo e u;
parameters a b;
a = 0.5; b = 0.2;
model;
# m1 = a*y( -1 );
# m2 = m1 + b*x( + 1 );
y = m1 + e + 0.3*u(+1);
x = b*x(-1) + 0.1*y(+1) + u + 0.2*e(+2);
z = m2 + y(+2) - y(+1) + 0.5*z(-1);
w = 0.9*w(-1) + 0.1*z(-2) + 0.05*u(-1);
end;
shocks; var e; stderr 0.1; var u; stderr 0.2; end;
stoch_simul(order=1, irf=6, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_shock_leads.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
