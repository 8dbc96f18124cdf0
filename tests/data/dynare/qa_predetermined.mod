// qa_predetermined: QA model C: predetermined_variables, initval + steady (numeric), functions
var y c k l z;
predetermined_variables k;
varexo e;
parameters alpha beta delta psi rho s;
alpha = 0.3; beta = 0.98; delta = 0.05; psi = 2; rho = 0.8; s = 0.01;
model;
1/c = beta/c(+1)*(alpha*exp(z(+1))*k(+1)^(alpha-1)*l(+1)^(1-alpha) + 1 - delta);
psi*c/(1-l) = (1-alpha)*y/l;
y = exp(z)*k^alpha*l^(1-alpha);
k(+1) = (1-delta)*k + y - c;
z = rho*z(-1) + e;
end;
initval;
k = 10; c = 1; l = 0.3; y = 1.3; z = 0;
end;
steady;
shocks;
var e = s^2;
end;
stoch_simul(order=1, irf=12, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_predetermined.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
