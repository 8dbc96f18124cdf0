/*
 * sw2007 -- our rendition of the log-linearized model of
 *   F. Smets and R. Wouters (2007), "Shocks and Frictions in US Business Cycles: A Bayesian
 *   DSGE Approach", American Economic Review 97(3), 586-606,
 * written for dsge_agents from the paper's equations (1)-(15) (Section I and the
 * measurement equation of Section II).  Equation numbers below are the paper's.
 *
 * Variables are log deviations from the balanced-growth path (y c inv k ks w: detrended by
 * the deterministic trend gamma^t; pinf r rk: deviations of the quarterly rates; l: hours).
 *   Sticky-price/wage economy                 Flexible-price/wage economy (suffix _f)
 *   y    output                               y_f   potential output (for the Taylor rule)
 *   c    consumption                          c_f, inv_f, q_f, rk_f, k_f, ks_f, u_f, l_f, w_f
 *   inv  investment                           rr_f  real interest rate of the flexible economy
 *   q    real value of installed capital
 *   rk   rental rate of capital
 *   k    installed capital (end of t)         ks   capital services = k(-1) + u
 *   u    capital utilization (z_t in the paper)
 *   l    hours worked                         w    real wage
 *   pinf inflation                            r    nominal interest rate
 *   mup  price markup (eq. 8)                 muw  wage markup (eq. 11)
 *   eps_a eps_b eps_g eps_i eps_r eps_p eps_w  the seven exogenous processes
 *
 * Normalization of the risk-premium shock.  In eqs. (2) and (4) the premium eps^b_t enters as
 * -c3*eps^b_t and -eps^b_t.  Here eps_b = c3*eps^b_t (its effect on consumption), so (2) has
 * -eps_b and (4) has -eps_b/c3.  The posterior of Table 1B (sigma_b = 0.24) refers to this
 * scaling, which is the one of the authors' own estimation setup (re-estimated on the paper's
 * sample, this file's mode has sigma_b = 0.242); only the shock's unit differs.
 *
 * Calibration: the posterior mode of Tables 1A/1B (two decimals, as printed); fixed as in the
 * paper's Section II.B: delta = 0.025, g_y = 0.18, phi_w (steady-state wage markup) = 1.5, Kimball
 * curvatures 10.  The mode of this file on the paper's sample (Dynare 5.3 csminwel from this
 * calibration, tests/data/dynare/sw2007_mode.json) is close to these values, e.g. rho_a 0.964,
 * xi_w 0.737, xi_p 0.654, r_pi 2.03, sigma_a 0.457; the weakly identified lbar moves to 0.86
 * (posterior std 1.1).
 *
 * Data: the paper's US series (1947Q3-2004Q4, 230 quarters; columns dy dc dinve labobs pinfobs
 * dw robs) are NOT shipped with the package.  The datafile below is looked for next to this file,
 * then in the working directory (save the series there as usmodel_data.csv), or pass
 * `--data path/to/usmodel_data.csv` (Python: data=...).
 */

var
  // sticky-price/wage economy
  y c inv q rk k ks u l w pinf r mup muw
  // flexible-price/wage economy
  y_f c_f inv_f q_f rk_f k_f ks_f u_f l_f w_f rr_f
  // exogenous processes
  eps_a eps_b eps_g eps_i eps_r eps_p eps_w
  // observables (eq. 15)
  dy dc dinve dw labobs pinfobs robs;

varexo eta_a eta_b eta_g eta_i eta_r eta_p eta_w;

parameters
  // fixed (Section II.B)
  delta g_y phi_w curv_p curv_w
  // estimated structural parameters (Table 1A)
  varphi sig_c hab xi_w sig_l xi_p iota_w iota_p psi phi_p r_pi rho_r r_y r_dy
  pibar bet100 lbar gambar alpha_k
  // shock processes (Table 1B)
  rho_a rho_b rho_g rho_i rho_m rho_p rho_w mu_p mu_w rho_ga;

delta  = 0.025;   // depreciation rate
g_y    = 0.18;    // exogenous spending share of output
phi_w  = 1.5;     // steady-state wage markup (lambda_w)
curv_p = 10;      // Kimball curvature, goods market (epsilon_p)
curv_w = 10;      // Kimball curvature, labour market (epsilon_w)

// posterior mode, Table 1A
varphi = 5.48;    // steady-state elasticity of the investment adjustment cost (phi)
sig_c  = 1.39;    // inverse intertemporal elasticity of substitution (sigma_c)
hab    = 0.71;    // habit (lambda)
xi_w   = 0.73;    // Calvo wages
sig_l  = 1.92;    // inverse Frisch elasticity (sigma_l)
xi_p   = 0.65;    // Calvo prices
iota_w = 0.59;    // wage indexation
iota_p = 0.22;    // price indexation
psi    = 0.54;    // capital-utilization cost (normalized to [0, 1])
phi_p  = 1.61;    // one plus the share of fixed costs in production (Phi)
r_pi   = 2.03;    // Taylor rule: inflation
rho_r  = 0.81;    // Taylor rule: smoothing (rho)
r_y    = 0.08;    // Taylor rule: output gap
r_dy   = 0.22;    // Taylor rule: change in the output gap
pibar  = 0.81;    // steady-state quarterly inflation, percent
bet100 = 0.16;    // 100*(1/beta - 1)
lbar   = -0.1;    // steady-state hours (log, normalized)
gambar = 0.43;    // quarterly trend growth, percent
alpha_k = 0.19;   // capital share (alpha)

// posterior mode, Table 1B
rho_a  = 0.95;
rho_b  = 0.18;
rho_g  = 0.97;
rho_i  = 0.71;
rho_m  = 0.12;
rho_p  = 0.90;
rho_w  = 0.97;
mu_p   = 0.74;
mu_w   = 0.88;
rho_ga = 0.52;

model(linear);
// ---- steady-state relations (Appendix of the paper; gam = gross trend growth)
# gam    = 1 + gambar/100;
# bet    = 1/(1 + bet100/100);
# pistar = 1 + pibar/100;
# betbar = bet*gam^(-sig_c);                      // beta-bar = beta*gamma^(-sigma_c)
# Rk     = 1/betbar - (1 - delta);                // R^k_* = beta^-1 gamma^sigma_c - (1 - delta)
# Wst    = (alpha_k^alpha_k*(1 - alpha_k)^(1 - alpha_k)/(phi_p*Rk^alpha_k))^(1/(1 - alpha_k));
# LK     = (1 - alpha_k)/alpha_k*Rk/Wst;          // L_*/K_*
# KY     = phi_p*LK^(alpha_k - 1);                // k_y = K_*/Y_*
# IY     = (gam - 1 + delta)*KY;                  // i_y
# CY     = 1 - g_y - IY;                          // c_y
# ZY     = Rk*KY;                                 // z_y = R^k_* k_y
# WLC    = (1/phi_w)*(1 - alpha_k)/alpha_k*Rk*KY/CY;   // W^h_* L_* / C_*
# hg     = hab/gam;
// ---- reduced-form coefficients of eqs. (2)-(12)
# c1  = hg/(1 + hg);
# c2  = (sig_c - 1)*WLC/(sig_c*(1 + hg));
# c3  = (1 - hg)/(sig_c*(1 + hg));
# bg  = betbar*gam;                               // beta gamma^(1 - sigma_c)
# i1  = 1/(1 + bg);
# i2  = 1/((1 + bg)*gam^2*varphi);
# q1  = betbar*(1 - delta);
# z1  = (1 - psi)/psi;
# k1  = (1 - delta)/gam;
# k2  = (1 - k1)*(1 + bg)*gam^2*varphi;
# pi1 = iota_p/(1 + bg*iota_p);
# pi2 = bg/(1 + bg*iota_p);
# pi3 = (1 - bg*xi_p)*(1 - xi_p)/((1 + bg*iota_p)*xi_p*((phi_p - 1)*curv_p + 1));
# w1  = 1/(1 + bg);
# w2  = (1 + bg*iota_w)/(1 + bg);
# w3  = iota_w/(1 + bg);
# w4  = (1 - bg*xi_w)*(1 - xi_w)/((1 + bg)*xi_w*((phi_w - 1)*curv_w + 1));
# rbar = 100*(pistar/betbar - 1);                 // 100*(beta^-1 gamma^sigma_c pi_* - 1)

// ==== sticky-price/wage economy
// (1) aggregate resource constraint
y = CY*c + IY*inv + ZY*u + eps_g;
// (2) consumption Euler equation with external habit (eps_b = c3 * risk premium)
c = c1*c(-1) + (1 - c1)*c(+1) + c2*(l - l(+1)) - c3*(r - pinf(+1)) - eps_b;
// (3) investment Euler equation
inv = i1*inv(-1) + (1 - i1)*inv(+1) + i2*q + eps_i;
// (4) value of capital (arbitrage)
q = q1*q(+1) + (1 - q1)*rk(+1) - (r - pinf(+1)) - eps_b/c3;
// (5) capital services
ks = k(-1) + u;
// (6) optimal capital utilization
u = z1*rk;
// (7) capital accumulation
k = k1*k(-1) + (1 - k1)*inv + k2*eps_i;
// (8) price markup = minus real marginal cost
mup = alpha_k*(ks - l) + eps_a - w;
// (9) New Keynesian Phillips curve with indexation
pinf = pi1*pinf(-1) + pi2*pinf(+1) - pi3*mup + eps_p;
// (10) cost minimization: rental rate of capital
rk = -(ks - l) + w;
// (11) wage markup = real wage minus the marginal rate of substitution
muw = w - (sig_l*l + (c - hg*c(-1))/(1 - hg));
// (12) wage equation with indexation
w = w1*w(-1) + (1 - w1)*(w(+1) + pinf(+1)) - w2*pinf + w3*pinf(-1) - w4*muw + eps_w;
// (13) aggregate production function
y = phi_p*(alpha_k*ks + (1 - alpha_k)*l + eps_a);
// (14) monetary policy rule: output gap y - y_f of the flexible economy
r = rho_r*r(-1) + (1 - rho_r)*(r_pi*pinf + r_y*(y - y_f)) + r_dy*((y - y_f) - (y(-1) - y_f(-1))) + eps_r;

// ==== flexible-price/wage economy: eqs. (1)-(13) without nominal rigidities and without the
// markup shocks (mup = muw = 0), real rate rr_f in place of r - pinf(+1)
y_f = CY*c_f + IY*inv_f + ZY*u_f + eps_g;                                       // (1)
c_f = c1*c_f(-1) + (1 - c1)*c_f(+1) + c2*(l_f - l_f(+1)) - c3*rr_f - eps_b;     // (2)
inv_f = i1*inv_f(-1) + (1 - i1)*inv_f(+1) + i2*q_f + eps_i;                     // (3)
q_f = q1*q_f(+1) + (1 - q1)*rk_f(+1) - rr_f - eps_b/c3;                         // (4)
ks_f = k_f(-1) + u_f;                                                           // (5)
u_f = z1*rk_f;                                                                  // (6)
k_f = k1*k_f(-1) + (1 - k1)*inv_f + k2*eps_i;                                   // (7)
0 = alpha_k*(ks_f - l_f) + eps_a - w_f;                                         // (8), mup = 0
rk_f = -(ks_f - l_f) + w_f;                                                     // (10)
0 = w_f - (sig_l*l_f + (c_f - hg*c_f(-1))/(1 - hg));                            // (11), muw = 0
y_f = phi_p*(alpha_k*ks_f + (1 - alpha_k)*l_f + eps_a);                         // (13)

// ==== exogenous processes (Section I)
eps_a = rho_a*eps_a(-1) + eta_a;                      // total factor productivity
eps_b = rho_b*eps_b(-1) + eta_b;                      // risk premium
eps_g = rho_g*eps_g(-1) + eta_g + rho_ga*eta_a;       // exogenous spending, hit by productivity too
eps_i = rho_i*eps_i(-1) + eta_i;                      // investment-specific technology
eps_r = rho_m*eps_r(-1) + eta_r;                      // monetary policy
eps_p = rho_p*eps_p(-1) + eta_p - mu_p*eta_p(-1);     // price markup, ARMA(1,1)
eps_w = rho_w*eps_w(-1) + eta_w - mu_w*eta_w(-1);     // wage markup, ARMA(1,1)

// ==== (15) measurement equations (percent per quarter; gambar = 100(gamma - 1))
dy      = y - y(-1) + gambar;
dc      = c - c(-1) + gambar;
dinve   = inv - inv(-1) + gambar;
dw      = w - w(-1) + gambar;
labobs  = l + lbar;
pinfobs = pinf + pibar;
robs    = r + rbar;
end;

// posterior mode, Table 1B
shocks;
var eta_a; stderr 0.45;
var eta_b; stderr 0.24;
var eta_g; stderr 0.52;
var eta_i; stderr 0.45;
var eta_r; stderr 0.24;
var eta_p; stderr 0.14;
var eta_w; stderr 0.24;
end;

steady;
check;

// priors of Tables 1A/1B: (mean, standard deviation).  The inverse-gamma priors of the shocks are
// written "0.10, 2.00" in Table 1B (2 degrees of freedom); as in the authors' Dynare estimation the
// second number is passed as inv_gamma_pdf's standard deviation argument.
estimated_params;
stderr eta_a, inv_gamma_pdf, 0.1, 2;
stderr eta_b, inv_gamma_pdf, 0.1, 2;
stderr eta_g, inv_gamma_pdf, 0.1, 2;
stderr eta_i, inv_gamma_pdf, 0.1, 2;
stderr eta_r, inv_gamma_pdf, 0.1, 2;
stderr eta_p, inv_gamma_pdf, 0.1, 2;
stderr eta_w, inv_gamma_pdf, 0.1, 2;
rho_a,  beta_pdf, 0.5, 0.2;
rho_b,  beta_pdf, 0.5, 0.2;
rho_g,  beta_pdf, 0.5, 0.2;
rho_i,  beta_pdf, 0.5, 0.2;
rho_m,  beta_pdf, 0.5, 0.2;
rho_p,  beta_pdf, 0.5, 0.2;
rho_w,  beta_pdf, 0.5, 0.2;
mu_p,   beta_pdf, 0.5, 0.2;
mu_w,   beta_pdf, 0.5, 0.2;
rho_ga, normal_pdf, 0.5, 0.25;
varphi, normal_pdf, 4, 1.5;
sig_c,  normal_pdf, 1.5, 0.375;
hab,    beta_pdf, 0.7, 0.1;
xi_w,   beta_pdf, 0.5, 0.1;
sig_l,  normal_pdf, 2, 0.75;
xi_p,   beta_pdf, 0.5, 0.1;
iota_w, beta_pdf, 0.5, 0.15;
iota_p, beta_pdf, 0.5, 0.15;
psi,    beta_pdf, 0.5, 0.15;
phi_p,  normal_pdf, 1.25, 0.125;
r_pi,   normal_pdf, 1.5, 0.25;
rho_r,  beta_pdf, 0.75, 0.1;
r_y,    normal_pdf, 0.125, 0.05;
r_dy,   normal_pdf, 0.125, 0.05;
pibar,  gamma_pdf, 0.625, 0.1;
bet100, gamma_pdf, 0.25, 0.1;
lbar,   normal_pdf, 0, 2;
gambar, normal_pdf, 0.4, 0.1;
alpha_k, normal_pdf, 0.3, 0.05;
end;

varobs dy dc dinve labobs pinfobs dw robs;

// The paper's sample: 1966Q1-2004Q4 in the likelihood, with the four quarters of 1965 as a
// presample (first_obs = 71 is 1965Q1 in the 1947Q3-2004Q4 file).  lik_init=2 (initial state
// covariance 10*I): the option of the authors' Dynare estimation command in their AER replication
// files (also ../shared/DYNARE_NOTES.md); no prefilter (the constants are estimated).
estimation(datafile='usmodel_data.csv', first_obs=71, presample=4,
           lik_init=2, prefilter=0, mode_compute=4, mh_replic=0);
