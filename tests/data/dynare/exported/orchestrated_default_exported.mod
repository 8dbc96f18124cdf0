// orchestrated_default: exported by dsge_agents from models/orchestrated_default.yaml

var demand latency cost quality net_value slo_rate spend z_demand z_slo plan_api_share plan_api_util plan_api_latency plan_api_capacity plan_api_provisioned plan_api_invest plan_api_zcap plan_api_zcost plan_llama_share plan_llama_util plan_llama_latency plan_llama_capacity plan_llama_provisioned plan_llama_invest plan_llama_tobin_q plan_llama_return plan_llama_zcap plan_llama_zcost act_api_share act_api_util act_api_latency act_api_capacity act_api_provisioned act_api_invest act_api_zcap act_api_zcost act_llama_share act_llama_util act_llama_latency act_llama_capacity act_llama_provisioned act_llama_invest act_llama_tobin_q act_llama_return act_llama_zcap act_llama_zcost verify_api_share verify_api_util verify_api_latency verify_api_capacity verify_api_provisioned verify_api_invest verify_api_zcap verify_api_zcost verify_llama_share verify_llama_util verify_llama_latency verify_llama_capacity verify_llama_provisioned verify_llama_invest verify_llama_tobin_q verify_llama_return verify_llama_zcap verify_llama_zcost;
varexo eps_demand eps_slo eps_capacity_plan_api eps_cost_plan_api eps_capacity_plan_llama eps_cost_plan_llama eps_capacity_act_api eps_cost_act_api eps_capacity_act_llama eps_cost_act_llama eps_capacity_verify_api eps_cost_verify_api eps_capacity_verify_llama eps_cost_verify_llama;
parameters lam_bar rho_demand retry_xi beta_logit theta omega psi beta_d slo_rho slo_phi_latency slo_phi_cost slo_target_latency slo_rate_bar slo_cost_bar rho_slo sd_demand sd_slo v_total v_plan v_act v_verify tau_plan_api k_plan_api q_plan_api kappa_plan_api Kbar_plan_api sd_capacity_plan_api sd_cost_plan_api rho_cap_plan_api rho_cost_plan_api tau_plan_llama k_plan_llama q_plan_llama kappa_plan_llama pI_plan_llama delta_plan_llama sd_capacity_plan_llama sd_cost_plan_llama rho_cap_plan_llama rho_cost_plan_llama tau_act_api k_act_api q_act_api kappa_act_api Kbar_act_api sd_capacity_act_api sd_cost_act_api rho_cap_act_api rho_cost_act_api tau_act_llama k_act_llama q_act_llama kappa_act_llama pI_act_llama delta_act_llama sd_capacity_act_llama sd_cost_act_llama rho_cap_act_llama rho_cost_act_llama tau_verify_api k_verify_api q_verify_api kappa_verify_api Kbar_verify_api sd_capacity_verify_api sd_cost_verify_api rho_cap_verify_api rho_cost_verify_api tau_verify_llama k_verify_llama q_verify_llama kappa_verify_llama pI_verify_llama delta_verify_llama sd_capacity_verify_llama sd_cost_verify_llama rho_cap_verify_llama rho_cost_verify_llama;

lam_bar = 330.0;
rho_demand = 0.8;
retry_xi = 0.0;
beta_logit = 800.0;
theta = 0.01;
omega = 0.5;
psi = 4.0;
beta_d = 0.9999999;
slo_rho = 0.5;
slo_phi_latency = 2.0;
slo_phi_cost = 0.0;
slo_target_latency = 30.0;
slo_rate_bar = 4.475449978640808e-05;
slo_cost_bar = 0.4222085812267646;
rho_slo = 0.5;
sd_demand = 0.165;
sd_slo = 0.1;
v_total = 2.7;
v_plan = 1.0;
v_act = 1.0;
v_verify = 0.7;
tau_plan_api = 2.85;
k_plan_api = 1.098;
q_plan_api = 0.7;
kappa_plan_api = 0.00033;
Kbar_plan_api = 400.0;
sd_capacity_plan_api = 0.05;
sd_cost_plan_api = 0.02;
rho_cap_plan_api = 0.7;
rho_cost_plan_api = 0.9;
tau_plan_llama = 6.5;
k_plan_llama = 1.098;
q_plan_llama = 0.85;
kappa_plan_llama = 0.0;
pI_plan_llama = 0.0088082;
delta_plan_llama = 0.0166667;
sd_capacity_plan_llama = 0.05;
sd_cost_plan_llama = 0.02;
rho_cap_plan_llama = 0.7;
rho_cost_plan_llama = 0.9;
tau_act_api = 5.4;
k_act_api = 1.098;
q_act_api = 0.68;
kappa_act_api = 0.00075;
Kbar_act_api = 400.0;
sd_capacity_act_api = 0.05;
sd_cost_act_api = 0.02;
rho_cap_act_api = 0.7;
rho_cost_act_api = 0.9;
tau_act_llama = 12.9;
k_act_llama = 1.098;
q_act_llama = 0.86;
kappa_act_llama = 0.0;
pI_act_llama = 0.0190476;
delta_act_llama = 0.0166667;
sd_capacity_act_llama = 0.05;
sd_cost_act_llama = 0.02;
rho_cap_act_llama = 0.7;
rho_cost_act_llama = 0.9;
tau_verify_api = 0.9;
k_verify_api = 1.098;
q_verify_api = 0.75;
kappa_verify_api = 0.000336;
Kbar_verify_api = 300.0;
sd_capacity_verify_api = 0.05;
sd_cost_verify_api = 0.02;
rho_cap_verify_api = 0.7;
rho_cost_verify_api = 0.9;
tau_verify_llama = 1.8;
k_verify_llama = 1.098;
q_verify_llama = 0.88;
kappa_verify_llama = 0.0;
pI_verify_llama = 0.006192;
delta_verify_llama = 0.0166667;
sd_capacity_verify_llama = 0.05;
sd_cost_verify_llama = 0.02;
rho_cap_verify_llama = 0.7;
rho_cost_verify_llama = 0.9;

model;
[name = 'demand_process']
-eps_demand - rho_demand*z_demand(-1) + z_demand = 0;
[name = 'demand']
demand - lam_bar*(latency(-1)/slo_target_latency)^retry_xi*exp(z_demand) = 0;
[name = 'slo_shock']
-eps_slo - rho_slo*z_slo(-1) + z_slo = 0;
[name = 'plan_api_capacity_shock']
-eps_capacity_plan_api + plan_api_zcap - plan_api_zcap(-1)*rho_cap_plan_api = 0;
[name = 'plan_api_cost_shock']
-eps_cost_plan_api + plan_api_zcost - plan_api_zcost(-1)*rho_cost_plan_api = 0;
[name = 'plan_api_capacity']
-Kbar_plan_api*exp(plan_api_zcap) + plan_api_capacity = 0;
[name = 'plan_api_util']
-demand*plan_api_share*v_plan/plan_api_capacity + plan_api_util = 0;
[name = 'plan_api_latency']
plan_api_latency - tau_plan_api*(k_plan_api*plan_api_util/(1 - plan_api_util) + 1) = 0;
[name = 'plan_api_provisioned']
-Kbar_plan_api + plan_api_provisioned = 0;
[name = 'plan_api_invest']
plan_api_invest = 0;
[name = 'plan_llama_capacity_shock']
-eps_capacity_plan_llama + plan_llama_zcap - plan_llama_zcap(-1)*rho_cap_plan_llama = 0;
[name = 'plan_llama_cost_shock']
-eps_cost_plan_llama + plan_llama_zcost - plan_llama_zcost(-1)*rho_cost_plan_llama = 0;
[name = 'plan_llama_capacity']
plan_llama_capacity - plan_llama_provisioned(-1)*exp(plan_llama_zcap) = 0;
[name = 'plan_llama_util']
-demand*plan_llama_share*v_plan/plan_llama_capacity + plan_llama_util = 0;
[name = 'plan_llama_latency']
plan_llama_latency - tau_plan_llama*(k_plan_llama*plan_llama_util/(1 - plan_llama_util) + 1) = 0;
[name = 'plan_llama_accumulation']
-plan_llama_invest + plan_llama_provisioned - plan_llama_provisioned(-1)*(1 - delta_plan_llama) = 0;
[name = 'plan_llama_investment_foc']
-pI_plan_llama*(psi*(-delta_plan_llama + plan_llama_invest/plan_llama_provisioned(-1)) + 1)*exp(plan_llama_zcost) + plan_llama_tobin_q = 0;
[name = 'plan_llama_capital_return']
-k_plan_llama*plan_llama_util^2*slo_rate*tau_plan_llama*exp(plan_llama_zcap)/(1 - plan_llama_util)^2 - pI_plan_llama*psi*(-delta_plan_llama^2 + plan_llama_invest^2/plan_llama_provisioned(-1)^2)*exp(plan_llama_zcost)/2 + plan_llama_return = 0;
[name = 'plan_llama_euler']
-beta_d*(plan_llama_return(+1) + plan_llama_tobin_q(+1)*(1 - delta_plan_llama)) + plan_llama_tobin_q = 0;
[name = 'act_api_capacity_shock']
act_api_zcap - act_api_zcap(-1)*rho_cap_act_api - eps_capacity_act_api = 0;
[name = 'act_api_cost_shock']
act_api_zcost - act_api_zcost(-1)*rho_cost_act_api - eps_cost_act_api = 0;
[name = 'act_api_capacity']
-Kbar_act_api*exp(act_api_zcap) + act_api_capacity = 0;
[name = 'act_api_util']
act_api_util - act_api_share*demand*v_act/act_api_capacity = 0;
[name = 'act_api_latency']
act_api_latency - tau_act_api*(act_api_util*k_act_api/(1 - act_api_util) + 1) = 0;
[name = 'act_api_provisioned']
-Kbar_act_api + act_api_provisioned = 0;
[name = 'act_api_invest']
act_api_invest = 0;
[name = 'act_llama_capacity_shock']
act_llama_zcap - act_llama_zcap(-1)*rho_cap_act_llama - eps_capacity_act_llama = 0;
[name = 'act_llama_cost_shock']
act_llama_zcost - act_llama_zcost(-1)*rho_cost_act_llama - eps_cost_act_llama = 0;
[name = 'act_llama_capacity']
act_llama_capacity - act_llama_provisioned(-1)*exp(act_llama_zcap) = 0;
[name = 'act_llama_util']
act_llama_util - act_llama_share*demand*v_act/act_llama_capacity = 0;
[name = 'act_llama_latency']
act_llama_latency - tau_act_llama*(act_llama_util*k_act_llama/(1 - act_llama_util) + 1) = 0;
[name = 'act_llama_accumulation']
-act_llama_invest + act_llama_provisioned - act_llama_provisioned(-1)*(1 - delta_act_llama) = 0;
[name = 'act_llama_investment_foc']
act_llama_tobin_q - pI_act_llama*(psi*(act_llama_invest/act_llama_provisioned(-1) - delta_act_llama) + 1)*exp(act_llama_zcost) = 0;
[name = 'act_llama_capital_return']
act_llama_return - act_llama_util^2*k_act_llama*slo_rate*tau_act_llama*exp(act_llama_zcap)/(1 - act_llama_util)^2 - pI_act_llama*psi*(act_llama_invest^2/act_llama_provisioned(-1)^2 - delta_act_llama^2)*exp(act_llama_zcost)/2 = 0;
[name = 'act_llama_euler']
act_llama_tobin_q - beta_d*(act_llama_return(+1) + act_llama_tobin_q(+1)*(1 - delta_act_llama)) = 0;
[name = 'verify_api_capacity_shock']
-eps_capacity_verify_api - rho_cap_verify_api*verify_api_zcap(-1) + verify_api_zcap = 0;
[name = 'verify_api_cost_shock']
-eps_cost_verify_api - rho_cost_verify_api*verify_api_zcost(-1) + verify_api_zcost = 0;
[name = 'verify_api_capacity']
-Kbar_verify_api*exp(verify_api_zcap) + verify_api_capacity = 0;
[name = 'verify_api_util']
-demand*v_verify*verify_api_share/verify_api_capacity + verify_api_util = 0;
[name = 'verify_api_latency']
-tau_verify_api*(k_verify_api*verify_api_util/(1 - verify_api_util) + 1) + verify_api_latency = 0;
[name = 'verify_api_provisioned']
-Kbar_verify_api + verify_api_provisioned = 0;
[name = 'verify_api_invest']
verify_api_invest = 0;
[name = 'verify_llama_capacity_shock']
-eps_capacity_verify_llama - rho_cap_verify_llama*verify_llama_zcap(-1) + verify_llama_zcap = 0;
[name = 'verify_llama_cost_shock']
-eps_cost_verify_llama - rho_cost_verify_llama*verify_llama_zcost(-1) + verify_llama_zcost = 0;
[name = 'verify_llama_capacity']
verify_llama_capacity - verify_llama_provisioned(-1)*exp(verify_llama_zcap) = 0;
[name = 'verify_llama_util']
-demand*v_verify*verify_llama_share/verify_llama_capacity + verify_llama_util = 0;
[name = 'verify_llama_latency']
-tau_verify_llama*(k_verify_llama*verify_llama_util/(1 - verify_llama_util) + 1) + verify_llama_latency = 0;
[name = 'verify_llama_accumulation']
-verify_llama_invest + verify_llama_provisioned - verify_llama_provisioned(-1)*(1 - delta_verify_llama) = 0;
[name = 'verify_llama_investment_foc']
-pI_verify_llama*(psi*(-delta_verify_llama + verify_llama_invest/verify_llama_provisioned(-1)) + 1)*exp(verify_llama_zcost) + verify_llama_tobin_q = 0;
[name = 'verify_llama_capital_return']
-k_verify_llama*slo_rate*tau_verify_llama*verify_llama_util^2*exp(verify_llama_zcap)/(1 - verify_llama_util)^2 - pI_verify_llama*psi*(-delta_verify_llama^2 + verify_llama_invest^2/verify_llama_provisioned(-1)^2)*exp(verify_llama_zcost)/2 + verify_llama_return = 0;
[name = 'verify_llama_euler']
-beta_d*(verify_llama_return(+1) + verify_llama_tobin_q(+1)*(1 - delta_verify_llama)) + verify_llama_tobin_q = 0;
[name = 'plan_llama_share']
-beta_logit*(1 - omega)*(kappa_plan_api*exp(plan_api_zcost) - kappa_plan_llama*exp(plan_llama_zcost) - q_plan_api*theta + q_plan_llama*theta + slo_rate*tau_plan_api*(k_plan_api*(-1 + (1 - plan_api_util)^(-2)) + 1) - slo_rate*tau_plan_llama*(k_plan_llama*(-1 + (1 - plan_llama_util)^(-2)) + 1)) - omega*log(plan_llama_share(-1)/plan_api_share(-1)) + log(plan_llama_share/plan_api_share) = 0;
[name = 'plan_shares_sum']
plan_api_share + plan_llama_share - 1 = 0;
[name = 'act_llama_share']
-beta_logit*(1 - omega)*(kappa_act_api*exp(act_api_zcost) - kappa_act_llama*exp(act_llama_zcost) - q_act_api*theta + q_act_llama*theta + slo_rate*tau_act_api*(k_act_api*(-1 + (1 - act_api_util)^(-2)) + 1) - slo_rate*tau_act_llama*(k_act_llama*(-1 + (1 - act_llama_util)^(-2)) + 1)) - omega*log(act_llama_share(-1)/act_api_share(-1)) + log(act_llama_share/act_api_share) = 0;
[name = 'act_shares_sum']
act_api_share + act_llama_share - 1 = 0;
[name = 'verify_llama_share']
-beta_logit*(1 - omega)*(kappa_verify_api*exp(verify_api_zcost) - kappa_verify_llama*exp(verify_llama_zcost) - q_verify_api*theta + q_verify_llama*theta + slo_rate*tau_verify_api*(k_verify_api*(-1 + (1 - verify_api_util)^(-2)) + 1) - slo_rate*tau_verify_llama*(k_verify_llama*(-1 + (1 - verify_llama_util)^(-2)) + 1)) - omega*log(verify_llama_share(-1)/verify_api_share(-1)) + log(verify_llama_share/verify_api_share) = 0;
[name = 'verify_shares_sum']
verify_api_share + verify_llama_share - 1 = 0;
[name = 'latency']
-act_api_latency*act_api_share*v_act - act_llama_latency*act_llama_share*v_act + latency - plan_api_latency*plan_api_share*v_plan - plan_llama_latency*plan_llama_share*v_plan - v_verify*verify_api_latency*verify_api_share - v_verify*verify_llama_latency*verify_llama_share = 0;
[name = 'spend']
-demand*(act_api_share*kappa_act_api*v_act*exp(act_api_zcost) + kappa_plan_api*plan_api_share*v_plan*exp(plan_api_zcost) + kappa_verify_api*v_verify*verify_api_share*exp(verify_api_zcost)) + spend = 0;
[name = 'cost']
cost - pI_act_llama*(act_llama_invest + act_llama_provisioned(-1)*psi*(act_llama_invest/act_llama_provisioned(-1) - delta_act_llama)^2/2)*exp(act_llama_zcost) - pI_plan_llama*(plan_llama_invest + plan_llama_provisioned(-1)*psi*(-delta_plan_llama + plan_llama_invest/plan_llama_provisioned(-1))^2/2)*exp(plan_llama_zcost) - pI_verify_llama*(psi*verify_llama_provisioned(-1)*(-delta_verify_llama + verify_llama_invest/verify_llama_provisioned(-1))^2/2 + verify_llama_invest)*exp(verify_llama_zcost) - spend = 0;
[name = 'quality']
quality - (act_api_share*q_act_api*v_act + act_llama_share*q_act_llama*v_act + plan_api_share*q_plan_api*v_plan + plan_llama_share*q_plan_llama*v_plan + q_verify_api*v_verify*verify_api_share + q_verify_llama*v_verify*verify_llama_share)/v_total = 0;
[name = 'net_value']
cost - demand*quality*theta + net_value = 0;
[name = 'slo_rule']
-slo_rho*log(slo_rate(-1)) - z_slo - (1 - slo_rho)*(slo_phi_cost*log(cost/slo_cost_bar) + slo_phi_latency*log(latency/slo_target_latency) + log(slo_rate_bar)) + log(slo_rate) = 0;
end;

steady_state_model;
demand = 330.0;
latency = 29.999999999999993;
cost = 0.4222085812267646;
quality = 0.8186393654238061;
net_value = 2.279301324671796;
slo_rate = 4.475449978640808e-05;
spend = 0.11961873079896607;
z_demand = 0.0;
z_slo = 0.0;
plan_api_share = 0.27955990280407783;
plan_api_util = 0.2306369198133642;
plan_api_latency = 3.788090391596227;
plan_api_capacity = 400.0;
plan_api_provisioned = 400.0;
plan_api_invest = 0.0;
plan_api_zcap = 0.0;
plan_api_zcost = 0.0;
plan_llama_share = 0.7204400971959222;
plan_llama_util = 0.4040323722842438;
plan_llama_latency = 11.338482674042082;
plan_llama_capacity = 588.4311465700981;
plan_llama_provisioned = 588.4311465700981;
plan_llama_invest = 9.807205390539854;
plan_llama_tobin_q = 0.0088082;
plan_llama_return = 0.00014680450776008853;
plan_llama_zcap = 0.0;
plan_llama_zcost = 0.0;
act_api_share = 0.27965591297276454;
act_api_util = 0.2307161282025308;
act_api_latency = 7.178227930532505;
act_api_capacity = 400.0;
act_api_provisioned = 400.0;
act_api_invest = 0.0;
act_api_zcap = 0.0;
act_api_zcost = 0.0;
act_llama_share = 0.7203440870272354;
act_llama_util = 0.41440736774365666;
act_llama_latency = 22.923604319572824;
act_llama_capacity = 573.6228822698733;
act_llama_provisioned = 573.6228822698733;
act_llama_invest = 9.560400491927298;
act_llama_tobin_q = 0.0190476;
act_llama_return = 0.0003174625396801914;
act_llama_zcap = 0.0;
act_llama_zcost = 0.0;
verify_api_share = 0.25716113846169303;
verify_api_util = 0.19801407661550355;
verify_api_latency = 1.143991203343886;
verify_api_capacity = 300.0;
verify_api_provisioned = 300.0;
verify_api_invest = 0.0;
verify_api_zcap = 0.0;
verify_api_zcost = 0.0;
verify_llama_share = 0.742838861538307;
verify_llama_util = 0.5192664374410713;
verify_llama_latency = 3.9348170106861047;
verify_llama_capacity = 330.4580551382591;
verify_llama_provisioned = 330.4580551382591;
verify_llama_invest = 5.507645267572823;
verify_llama_tobin_q = 0.006192;
verify_llama_return = 0.00010320082560006225;
verify_llama_zcap = 0.0;
verify_llama_zcost = 0.0;
end;

steady;
check;

shocks;
var eps_demand; stderr sd_demand;
var eps_slo; stderr sd_slo;
var eps_capacity_plan_api; stderr sd_capacity_plan_api;
var eps_cost_plan_api; stderr sd_cost_plan_api;
var eps_capacity_plan_llama; stderr sd_capacity_plan_llama;
var eps_cost_plan_llama; stderr sd_cost_plan_llama;
var eps_capacity_act_api; stderr sd_capacity_act_api;
var eps_cost_act_api; stderr sd_cost_act_api;
var eps_capacity_act_llama; stderr sd_capacity_act_llama;
var eps_cost_act_llama; stderr sd_cost_act_llama;
var eps_capacity_verify_api; stderr sd_capacity_verify_api;
var eps_cost_verify_api; stderr sd_cost_verify_api;
var eps_capacity_verify_llama; stderr sd_capacity_verify_llama;
var eps_cost_verify_llama; stderr sd_cost_verify_llama;
end;

estimated_params;
rho_demand, beta_pdf, 0.5, 0.2;
stderr eps_demand, inv_gamma_pdf, 0.1, inf;
rho_slo, beta_pdf, 0.5, 0.2;
stderr eps_slo, inv_gamma_pdf, 0.1, inf;
stderr eps_capacity_act_api, inv_gamma_pdf, 0.05, inf;
stderr eps_capacity_act_llama, inv_gamma_pdf, 0.05, inf;
slo_phi_latency, gamma_pdf, 2.0, 1.0;
omega, beta_pdf, 0.5, 0.2;
psi, gamma_pdf, 4.0, 2.0;
end;

stoch_simul(order=1, irf=40, nograph);
