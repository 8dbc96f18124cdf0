/* qa_rbc_features: QA model A: stochastic growth, levels, with locals, tags, derived params,
   steady_state_model with temporaries, a variable list in stoch_simul */
var y $Y$ (long_name='output')
    c $C$ (long_name='consumption'), k (long_name='capital') i l
    z $z$;
varexo e_z $\varepsilon$ (long_name='TFP shock');
parameters alpha $\alpha$ beta delta psi rho sigz kl_ratio;

alpha = 0.36;   // capital share
beta  = 0.99;   % discount factor
delta = 0.025;
psi   = 1.8;
rho   = 0.9;
sigz  = 0.0072;
kl_ratio = ((1/beta - 1 + delta)/alpha)^(1/(alpha-1));   // derived from others

model;
# r = alpha*exp(z)*(k(-1)/l)^(alpha-1);
# r1 = alpha*exp(z(+1))*(k/l(+1))^(alpha-1);
[name='euler'] 1/c = beta/c(+1)*(r1 + 1 - delta);
[name='labour', mcp = 'l>0'] psi*c/(1-l) = (1-alpha)*y/l;
[name='production'] y = exp(z)*k(-1)^alpha*l^(1-alpha);
k = (1-delta)*k(-1) + i;
y = c + i;
[name = 'tfp'] z = rho*z(-1) + e_z;
end;

steady_state_model;
yl = kl_ratio^alpha;
cl = yl - delta*kl_ratio;
l = (1-alpha)*yl/(psi*cl + (1-alpha)*yl);
k = kl_ratio*l;
y = yl*l;
c = cl*l;
i = delta*k;
z = 0;
end;

shocks;
var e_z; stderr sigz;
end;

steady;
check;
stoch_simul(order=1, irf=20, nograph) y c k l;

// reference dump (tests/data/dynare/octave/solution_struct.m; varlist = the stoch_simul list)
write_json('qa_rbc_features.json', setfield(solution_struct(M_, oo_, options_), 'varlist', {var_list_(:)'}));
