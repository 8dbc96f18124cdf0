// rbc: stochastic growth model in levels with elastic labour (dsge_agents reference model).
// Timing as Dynare: k is the capital stock at the end of the period, used in production next period.

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

// Steady state derived by hand (z = 0):
//   Euler:   1 = beta*(alpha*(k/l)^(alpha-1) + 1 - delta)      => capital-labour ratio kl
//   output per hour yl = kl^alpha, consumption per hour cl = yl - delta*kl
//   labour:  psi*cl*l/(1-l) = (1-alpha)*yl                     => l
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

shocks;
var e; stderr 0.01;
end;

steady;
check;
stoch_simul(order=1, irf=40, nograph);

write_json('rbc.json', solution_struct(M_, oo_, options_));
