// fs2000: exported by dsge_agents from models/fs2000.mod

var m P c e W R k d n l gy_obs gp_obs y dA;
varexo e_a e_m;
parameters alp bet gam mst rho psi del;

alp = 0.33;
bet = 0.99;
gam = 0.003;
mst = 1.011;
rho = 0.7;
psi = 0.787;
del = 0.02;

model;
dA - exp(e_a + gam) = 0;
-e_m - rho*log(m(-1)) - (1 - rho)*log(mst) + log(m) = 0;
P/(P(+1)*c(+1)*m) - P(+1)*bet*(alp*k^(alp - 1)*n(+1)^(1 - alp)*exp(-alp*(gam + log(e(+1)))) + (1 - del)*exp(-gam)/e(+1))/(P(+2)*c(+2)*m(+1)) = 0;
W - l/n = 0;
P*c*psi/((1 - n)*(1 - psi)) - l/n = 0;
-P*k(-1)^alp*(1 - alp)*exp(-alp*(e_a + gam))/n^alp + R*W = 0;
-P*bet*k(-1)^alp*n^(1 - alp)*(1 - alp)*exp(-alp*(e_a + gam))/(P(+1)*c(+1)*l*m) + 1/(P*c) = 0;
c + k - k(-1)*(1 - del)*exp(-e_a - gam) - y = 0;
-P*c + m = 0;
-d + l - m + 1 = 0;
e - exp(e_a) = 0;
-k(-1)^alp*n^(1 - alp)*exp(-alp*(e_a + gam)) + y = 0;
-dA*y/y(-1) + gy_obs = 0;
-P*m(-1)/(P(-1)*dA) + gp_obs = 0;
end;

steady_state_model;
dA = exp(gam);
g = 1/(dA);
m = mst;
e = 1;
kn = ((-bet*g*(1 - del) + 1)/(alp*bet*g^alp))^(1/(alp - 1));
cn = -kn*(-g*(1 - del) + 1) + (g*kn)^alp;
odds = bet*(g*kn)^alp*(1 - alp)*(1 - psi)/(cn*mst*psi);
n = odds/(odds + 1);
k = kn*n;
c = cn*n;
P = mst/c;
y = n*(g*kn)^alp;
l = mst*n*psi/((1 - n)*(1 - psi));
d = l - mst + 1;
W = l/n;
R = mst/bet;
gy_obs = dA;
gp_obs = mst/dA;
end;

steady;
check;

shocks;
var e_a = 0.00019600000000000002;
var e_m = 2.5e-05;
end;

varobs gp_obs gy_obs;

estimated_params;
alp, beta_pdf, 0.356, 0.02;
bet, beta_pdf, 0.993, 0.002;
gam, normal_pdf, 0.0085, 0.003;
mst, normal_pdf, 1.0002, 0.007;
rho, beta_pdf, 0.129, 0.1;
psi, beta_pdf, 0.65, 0.05;
del, beta_pdf, 0.01, 0.005;
stderr e_a, inv_gamma_pdf, 0.035449, inf;
stderr e_m, inv_gamma_pdf, 0.008862, inf;
end;

stoch_simul(order=1, irf=40, nograph, loglinear);

estimation(order=1, datafile='../../shared/data/fs2000/fsdat_simul.csv', nobs=192, loglinear, mode_compute=4, mh_replic=20000, mh_nblocks=2, mh_jscale=0.8, mh_drop=0.5);
