function p = prior_table(bayestopt_, names)
% PRIOR_TABLE  Dynare's internal prior description for each estimated parameter.
%   pshape: 1 beta, 2 gamma, 3 normal, 4 inv_gamma (type 1), 5 uniform, 6 inv_gamma2.
%   p1 mean, p2 std, p3/p4 bounds, p5 mode, p6/p7 Dynare's hyper-parameters.
  p = struct();
  p.names = names;
  p.pshape = bayestopt_.pshape(:)';
  p.p1 = bayestopt_.p1(:)'; p.p2 = bayestopt_.p2(:)'; p.p3 = bayestopt_.p3(:)';
  p.p4 = bayestopt_.p4(:)'; p.p5 = bayestopt_.p5(:)'; p.p6 = bayestopt_.p6(:)';
  p.p7 = bayestopt_.p7(:)';
end
