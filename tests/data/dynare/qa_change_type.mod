// qa_change_type: QA model H: change_type(parameters) and change_type(var) (new order = declaration order)
var y z w;
varexo e b;
parameters a;
change_type(parameters) z;
change_type(var) b;
a = 0.5; z = 0.25;
model;
y = a*y(-1) + z*b(-1) + e;
b = 0.3*b(-1) + 0.1*y;
w = y + b(+1);
end;
shocks; var e; stderr 1; end;
stoch_simul(order=1, irf=4, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_change_type.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
