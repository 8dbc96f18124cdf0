// qa_functions: QA model D: functions, negative bases, CRLF, BOM
var y w q s g;
varexo e1 e2;
parameters a b c d rho;
a = (-0.5)^3;          // -0.125
b = -2^2 + 5;          // 1
c = abs(a) + sign(a)*0.1 + max(0.2, 0.3) - min(-1, 2)/10;
d = normcdf(0.3) + erf(0.2) + sqrt(4)/4 + exp(log(2))/8;
rho = 0.5;
model;
y = rho*y(-1) + e1 + 0.1*abs(w(-1) - 2) + 0.05*max(q, 0.1) ;
w = 2 + 0.3*(y(+1) - y) + 0.2*sign(q + 1)*y + e2;
q = 0.2 + 0.4*normcdf(y) - 0.2 + 0.1*erf(y(-1)) + 0.1*min(y, 0.5) ;
s = (y - 1)^2 + (q - 0.5)^3 + a*y;
g = exp(0.5*y)*sqrt(1 + q^2) + b*c*d*log(1+w);
end;
initval;
y = 0.1; w = 2; q = 0.1; s = 1; g = 1;
end;
steady;
shocks;
var e1; stderr 0.1;
var e2; stderr 0.05;
end;
stoch_simul(order=1, irf=10, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_functions.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
