function myoutput = posterior_sampler_core(myinputs, fblck, nblck, whoiam, ThisMatlab)
% POSTERIOR_SAMPLER_CORE (dsge_agents test-data wrapper)  Run Dynare's MCMC blocks
% (chains) fblck..nblck in separate Octave processes, one per chain, and merge their
% results.  Each process calls Dynare 5.3's own posterior_sampler_core for ONE block; the
% chain's draws depend only on the block's initial state and its RNG state
% record.InitialSeeds(b), so the draws are the same as in Dynare's sequential run.
% This folder is put on the path (ahead of Dynare's) only inside the MH run (fs2000_mh.tail,
% when DYNARE_PARALLEL_CHAINS_DIR is set); the worker processes do not see it.
% Wall/CPU seconds of each chain are written to mh_chain_times.json.
  if nargin > 3 && whoiam ~= 0
    error('parallel_chains wrapper: only the sequential call (whoiam = 0) is expected');
  end
  dynpath = fileparts(which('dynare_config'));
  tag = sprintf('mhchains_%d', getpid());
  % Octave cannot save classdef objects (dseries/dates).  The sampler's likelihood
  % (dsge_likelihood) reads only .data, .nobs and .vobs of the data set, so pass those in a
  % plain struct; the dates/dseries fields below are not used by the sampler and are emptied.
  ds = myinputs.dataset_;
  myinputs.dataset_ = struct('data', ds.data, 'nobs', ds.nobs, 'vobs', ds.vobs);
  myinputs.options_.dataset.firstobs = [];
  myinputs.options_.dataset.lastobs = [];
  myinputs.options_.initial_date = [];
  myinputs.oo_.initval_series = [];
  bad = find_objects(myinputs, 'myinputs');
  if ~isempty(bad)
    error('parallel_chains wrapper: cannot pass objects: %s', strjoin(bad, ', '));
  end
  save('-binary', [tag '_input.mat'], 'myinputs');
  blocks = fblck:nblck;
  for b = blocks
    outf = sprintf('%s_out%d.mat', tag, b);
    if exist(outf, 'file'), delete(outf); end
    script = sprintf(['try, addpath(''%s''); dynare_config(); load(''%s_input.mat''); ' ...
                      'global M_ options_ oo_ estim_params_ bayestopt_; M_ = myinputs.M_; ' ...
                      'options_ = myinputs.options_; oo_ = myinputs.oo_; ' ...
                      'estim_params_ = myinputs.estim_params_; bayestopt_ = myinputs.bayestopt_; ' ...
                      'priordens(myinputs.xparam1, bayestopt_.pshape, bayestopt_.p6, bayestopt_.p7, bayestopt_.p3, bayestopt_.p4, 1); ' ...
                      't0 = tic; c0 = cputime; out = posterior_sampler_core(myinputs, %d, %d, 0); ' ...
                      'out.wall_seconds = toc(t0); out.cpu_seconds = cputime - c0; ' ...
                      'save(''-binary'', ''%s.tmp'', ''out''); rename(''%s.tmp'', ''%s''); ' ...
                      'catch err, disp(err.message); fid = fopen(''%s.failed'', ''w''); fclose(fid); end'], ...
                     dynpath, tag, b, b, outf, outf, outf, outf);
    system(sprintf('octave-cli --no-gui --no-window-system --eval "%s" > %s_blck%d.log 2>&1 &', script, tag, b));
  end
  done = false(size(blocks));
  while ~all(done)
    pause(2);
    for k = 1:numel(blocks)
      outf = sprintf('%s_out%d.mat', tag, blocks(k));
      if exist([outf '.failed'], 'file')
        error('parallel_chains wrapper: chain %d failed, see %s_blck%d.log', blocks(k), tag, blocks(k));
      end
      done(k) = exist(outf, 'file') == 2;
    end
  end
  record = myinputs.record;
  NewFile = myinputs.NewFile;
  OutputFileName = cell(0, 2);
  times = struct('chain', {}, 'wall_seconds', {}, 'cpu_seconds', {});
  for k = 1:numel(blocks)
    b = blocks(k);
    s = load(sprintf('%s_out%d.mat', tag, b));
    o = s.out;
    record.LastLogPost(b) = o.record.LastLogPost(b);
    record.LastParameters(b, :) = o.record.LastParameters(b, :);
    record.AcceptanceRatio(b) = o.record.AcceptanceRatio(b);
    record.FunctionEvalPerIteration(b) = o.record.FunctionEvalPerIteration(b);
    record.LastSeeds(b) = o.record.LastSeeds(b);
    if k == 1 && isfield(o.record, 'ProposalCovariance') && isfield(o.record, 'ProposalScaleVec')
      record.ProposalCovariance = o.record.ProposalCovariance;
      record.ProposalScaleVec = o.record.ProposalScaleVec;
    end
    NewFile(b) = o.NewFile(b);
    OutputFileName(end+1, :) = o.OutputFileName(1, :);
    irun = o.irun;
    times(end+1) = struct('chain', b, 'wall_seconds', o.wall_seconds, 'cpu_seconds', o.cpu_seconds);
  end
  myoutput.record = record;
  myoutput.irun = irun;
  myoutput.NewFile = NewFile;
  myoutput.OutputFileName = OutputFileName;
  write_json('mh_chain_times.json', times);
end
