// qa_macro: QA model E, a two-country AR model written with the macro processor (@#define,
// @#if/@#elseif/@#else, @#ifndef, @#for over lists, ranges and pairs, @#include, inline substitutions, @#echo)
@#define COUNTRIES = 2
@#define CLIST = ["h", "fo"]
@#define USE_TREND = false
@#define NLAGS = 3
@#define ALPHAS = [0.5, 0.25, 0.125]
@#ifndef WEIGHT
  @#define WEIGHT = 0.3
@#endif
var
@#for c in CLIST
  y_@{c} $y_{@{c}}$ (long_name='output @{c}')
@#endfor
  ybar;
varexo
@#for c in CLIST
  e_@{c}
@#endfor
;
parameters beta
@#for c in CLIST
  rho_@{c} sig_@{c}
@#endfor
;
@#include "qa_macro_params.inc"
model;
@#for (c, k) in [("h", 1), ("fo", 2)]
  [name = 'ar_@{c}']
  y_@{c} = rho_@{c}*y_@{c}(-1) + @{k/20}*ybar(-1)
  + (1 - rho_@{c})*(@{WEIGHT})*ybar
@#for j in 1:NLAGS
  + @{ALPHAS[j]}*0.1*y_@{c}(-@{j+1})
@#endfor
  + e_@{c};
@#endfor
@#if USE_TREND
  ybar = ybar(-1) + 1;
@#elseif COUNTRIES == 2 && !USE_TREND
  ybar = 0.25*(y_h + y_fo) + 0.2*ybar(+1);
@#else
  ybar = 0;
@#endif
end;
shocks;
@#for c in CLIST
var e_@{c}; stderr sig_@{c};
@#endfor
corr e_h, e_fo = 0.3;
end;
@#echo "expanded"
stoch_simul(order=1, irf=8, nograph);

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_macro.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
