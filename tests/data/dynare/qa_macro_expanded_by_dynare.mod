// qa_macro: QA model E, a two-country AR model written with the macro processor (@#define,
// @#if/@#elseif/@#else, @#ifndef, @#for over lists, ranges and pairs, @#include, inline substitutions, @#echo)
var
  y_h $y_{h}$ (long_name='output h')
  y_fo $y_{fo}$ (long_name='output fo')
  ybar;
varexo
  e_h
  e_fo
;
parameters beta
  rho_h sig_h
  rho_fo sig_fo
;
// included file: calibration
beta = 0.99;
  rho_h = 0.6;
  sig_h = 0.01 * 2;
  rho_fo = 0.7;
  sig_fo = 0.01 * 2;
model;
  [name = 'ar_h']
  y_h = rho_h*y_h(-1) + 0.05*ybar(-1)
  + (1 - rho_h)*(0.3)*ybar
  + 0.5*0.1*y_h(-2)
  + 0.25*0.1*y_h(-3)
  + 0.125*0.1*y_h(-4)
  + e_h;
  [name = 'ar_fo']
  y_fo = rho_fo*y_fo(-1) + 0.1*ybar(-1)
  + (1 - rho_fo)*(0.3)*ybar
  + 0.5*0.1*y_fo(-2)
  + 0.25*0.1*y_fo(-3)
  + 0.125*0.1*y_fo(-4)
  + e_fo;
  ybar = 0.25*(y_h + y_fo) + 0.2*ybar(+1);
end;
shocks;
var e_h; stderr sig_h;
var e_fo; stderr sig_fo;
corr e_h, e_fo = 0.3;
end;
stoch_simul(order=1, irf=8, nograph);
// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_macro.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
