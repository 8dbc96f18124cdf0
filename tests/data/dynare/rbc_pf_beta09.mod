// rbc_pf_beta09: as rbc_pf.mod, a large permanent fall of the discount factor beta 0.99 -> 0.9
// (capital falls from 9.5 to 1.1; the first-order path takes hours negative), 200 periods.

var y c k i l z;
varexo e;
parameters alpha beta delta psi rho;

alpha = 0.33;
beta  = 0.99;
delta = 0.025;
psi   = 1.75;
rho   = 0.95;

model;
1/c = beta/c(+1)*(alpha*exp(z(+1))*k^(alpha-1)*l(+1)^(1-alpha) + 1 - delta);
psi*c/(1-l) = (1-alpha)*y/l;
y = exp(z)*k(-1)^alpha*l^(1-alpha);
k = (1-delta)*k(-1) + i;
y = c + i;
z = rho*z(-1) + e;
end;

// closed-form steady state (derivation in rbc.mod), evaluated at the current alpha
steady_state_model;
kl = ((1/beta - 1 + delta)/alpha)^(1/(alpha-1));
yl = kl^alpha;
cl = yl - delta*kl;
l = (1-alpha)*yl/(psi*cl + (1-alpha)*yl);
k = kl*l;
y = yl*l;
c = cl*l;
i = delta*k;
z = 0;
end;

initval;
e = 0;
end;
steady;
old_ss = oo_.steady_state;

beta = 0.9;
endval;
e = 0;
end;
steady;

perfect_foresight_setup(periods=200);
perfect_foresight_solver(tolf=1e-12);

out = struct();
out.variables = M_.endo_names(:)';
out.change = struct('beta', [0.99, 0.9]);
out.periods = 200;
out.old_steady_state = old_ss(:)';
out.new_steady_state = oo_.steady_state(:)';

% rows = variables (declaration order), columns = periods 0 (initial) .. 201 (terminal)
out.endo_simul = struct('json_matrix_', oo_.endo_simul);
write_json('rbc_pf_beta09.json', out);
