// rbc: exported by dsge_agents from models/rbc.yaml

var y c k i l z;
varexo e;
parameters alpha beta delta psi rho;

alpha = 0.33;
beta = 0.99;
delta = 0.025;
psi = 1.75;
rho = 0.95;

model;
-beta*(alpha*k^(alpha - 1)*l(+1)^(1 - alpha)*exp(z(+1)) - delta + 1)/c(+1) + 1/(c) = 0;
c*psi/(1 - l) - y*(1 - alpha)/l = 0;
-k(-1)^alpha*l^(1 - alpha)*exp(z) + y = 0;
-i + k - k(-1)*(1 - delta) = 0;
-c - i + y = 0;
-e - rho*z(-1) + z = 0;
end;

initval;
y = 1.0057662114874564;
c = 0.7693749731472032;
k = 9.455649533610146;
i = 0.23639123834025325;
l = 0.3335512119122875;
z = 0.0;
end;

steady;
check;

shocks;
var e = 0.0001;
end;

stoch_simul(order=1, irf=40, nograph);
