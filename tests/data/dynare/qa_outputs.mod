// QA helper 3: stoch_simul outputs (IRFs, moments, correlations, conditional and unconditional
// variance decompositions, HP / band-pass filtered moments) on a small nonlinear RBC with extras:
// leads and lags beyond one period of endogenous and exogenous variables,
// exp/log/normcdf/normpdf/erf/abs/^ (STEADY_STATE() is refused by our reader, so not used), '#' locals, equation tags, steady_state_model with helper
// variables, correlated shocks and a stderr given by a parameter expression.
var y c k a g pinf r x;
varexo e_a e_g e_r e_x;
parameters alph bet delt rho_a rho_g gbar kap phi_pi rho_r th_x sig_a sig_g;
alph = 0.33; bet = 0.99; delt = 0.025; rho_a = 0.95; rho_g = 0.8; gbar = 0.2;
kap = 0.05; phi_pi = 1.5; rho_r = 0.6; th_x = 0.4; sig_a = 0.01; sig_g = 0.004;
model;
# rk = alph*exp(a(+1))*k^(alph-1) + 1 - delt;
[name='euler'] 1/c = bet*rk/c(+1);
[name='resource'] y = c + k - (1-delt)*k(-1) + g;
[name='production', kind='supply'] y = exp(a)*k(-1)^alph;
a = rho_a*a(-1) + e_a;
log(g/gbar) = rho_g*log(g(-1)/gbar) + e_g - 0.3*e_g(-2);
pinf = 0.3*pinf(+1) + 0.2*pinf(+2) + 0.3*pinf(-1) + kap*log(y/y(-1)) + 0.01*erf(a);
r = rho_r*r(-1) + 0.1*r(-2) + (1-rho_r-0.1)*phi_pi*pinf + e_r + 0.5*e_r(-1);
x = th_x*x(-3) + normcdf(a) - 0.5 + 0.2*(normpdf(pinf) - normpdf(0)) + 0.05*abs(c) + e_x + 0.1*x(+2);
end;
steady_state_model;
rk_ss = 1/bet;               // helper
ky = alph/(rk_ss - 1 + delt); // helper: capital-output ratio
a = 0; g = gbar; pinf = 0; r = 0;
k = ky^(1/(1-alph));
y = k^alph;
c = y - delt*k - g;
x = 0.05*abs(c)/(1 - th_x - 0.1);
end;
steady;
check;
shocks;
var e_a; stderr sig_a;
var e_g; stderr 2*sig_g + sig_a/10;
var e_r = 0.0025^2;
var e_x; stderr 0.02;
corr e_a, e_r = 0.4;
corr e_g, e_x = -0.25;
end;
