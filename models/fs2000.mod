/*
 * fs2000 -- our rendition of the cash-in-advance model M1 of
 *   F. Schorfheide (2000), "Loss function-based evaluation of DSGE models",
 *   Journal of Applied Econometrics 15(6), 645-670,
 * with the equilibrium conditions of
 *   J. Nason and T. Cogley (1994), "Testing the implications of long-run neutrality
 *   for monetary business cycle models", Journal of Applied Econometrics 9, S37-S70,
 * in the form used by Dynare's fs2000 estimation example (same variables, calibration,
 * priors, observables and data), written out again for dsge_agents.
 *
 * Technology A_t follows a random walk with drift: log(A_t/A_{t-1}) = gam + e_a,t.
 * Real variables are detrended by A_t, nominal ones by the money stock, so that
 *   dA  gross technology growth         m  gross money growth (AR(1) in logs)
 *   P   detrended price level           c  detrended consumption
 *   k   detrended capital (end of t)    n  hours worked
 *   W   wage                            R  gross nominal interest rate
 *   l   loans (bank deposits)           d  household cash deposits
 *   y   detrended output                e  exp(e_a), carried one period ahead for the Euler equation
 *   gy_obs  gross output growth         gp_obs  gross inflation     (both observed)
 * The whole model is log-linearized (`loglinear` below), so every steady state is positive.
 *
 * Data: ../../shared/data/fs2000/fsdat_simul.csv (columns gy_obs, gp_obs, levels); the first
 * 192 observations are used.  The path is relative to the directory Dynare runs in (models/).
 */

var m P c e W R k d n l gy_obs gp_obs y dA;
varexo e_a e_m;

parameters alp bet gam mst rho psi del;

// calibration (also the starting values of the estimation)
alp = 0.33;     // capital share
bet = 0.99;     // discount factor
gam = 0.003;    // mean technology growth
mst = 1.011;    // steady-state money growth
rho = 0.7;      // persistence of money growth
psi = 0.787;    // weight of leisure
del = 0.02;     // depreciation

model;
// technology growth and money growth
dA = exp(gam + e_a);
log(m) = rho*log(m(-1)) + (1-rho)*log(mst) + e_m;
// intertemporal condition for capital (marginal utility of money carried two periods)
P/(c(+1)*P(+1)*m) = bet*P(+1)/(c(+2)*P(+2)*m(+1))
    * (alp*k^(alp-1)*n(+1)^(1-alp)*exp(-alp*(gam + log(e(+1)))) + (1-del)*exp(-(gam + log(e(+1)))));
// firms borrow the wage bill
W = l/n;
// labour supply
(psi/(1-psi))*c*P/(1-n) = l/n;
// labour demand: wage = marginal product of labour priced at P, discounted by R
R*W = (1-alp)*P*exp(-alp*(gam + e_a))*k(-1)^alp*n^(-alp);
// loans versus cash: first-order condition for deposits
1/(c*P) = bet*(1-alp)*P*exp(-alp*(gam + e_a))*k(-1)^alp*n^(1-alp)/(m*l*c(+1)*P(+1));
// goods market (y is output, defined below)
c + k = y + (1-del)*exp(-(gam + e_a))*k(-1);
// cash-in-advance constraint binds
m = P*c;
// bank balance sheet
l = m - 1 + d;
// technology innovation in levels
e = exp(e_a);
// production
y = exp(-alp*(gam + e_a))*k(-1)^alp*n^(1-alp);
// observation equations
gy_obs = dA*y/y(-1);
gp_obs = m(-1)*P/(P(-1)*dA);
end;

shocks;
var e_a; stderr 0.014;
var e_m; stderr 0.005;
end;

// Steady state, derived by hand (e = 1, g = 1/dA):
//   Euler:       1 = bet*(alp*g^alp*kn^(alp-1) + (1-del)*g)         -> kn = k/n
//   resources:   c/n = (g*kn)^alp - (1 - (1-del)*g)*kn =: cn
//   deposits:    l = bet*(1-alp)*P*(g*kn)^alp*n/mst,  money: P = mst/c
//   labour:      n/(1-n) = (1-psi)*bet*(1-alp)*(g*kn)^alp/(psi*mst*cn) =: odds
steady_state_model;
dA = exp(gam);
g = 1/dA;
m = mst;
e = 1;
kn = ((1 - bet*(1-del)*g)/(alp*bet*g^alp))^(1/(alp-1));
cn = (g*kn)^alp - (1 - (1-del)*g)*kn;
odds = (1-psi)*bet*(1-alp)*(g*kn)^alp/(psi*mst*cn);
n = odds/(1 + odds);
k = kn*n;
c = cn*n;
P = mst/c;
y = (g*kn)^alp*n;
l = psi*mst*n/((1-psi)*(1-n));
d = l - mst + 1;
W = l/n;
R = mst/bet;
gy_obs = dA;
gp_obs = mst/dA;
end;

steady;
check;

// priors: (mean, standard deviation); inv_gamma with std inf = Dynare's nu = 2 case
estimated_params;
alp, beta_pdf, 0.356, 0.02;
bet, beta_pdf, 0.993, 0.002;
gam, normal_pdf, 0.0085, 0.003;
mst, normal_pdf, 1.0002, 0.007;
rho, beta_pdf, 0.129, 0.100;
psi, beta_pdf, 0.65, 0.05;
del, beta_pdf, 0.01, 0.005;
stderr e_a, inv_gamma_pdf, 0.035449, inf;
stderr e_m, inv_gamma_pdf, 0.008862, inf;
end;

varobs gp_obs gy_obs;

estimation(order=1, datafile='../../shared/data/fs2000/fsdat_simul.csv', nobs=192, loglinear,
           mode_compute=4, mh_replic=20000, mh_nblocks=2, mh_jscale=0.8, mh_drop=0.5);
