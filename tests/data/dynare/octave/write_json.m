function write_json(fname, v)
% WRITE_JSON  Write value v to fname as compact JSON (see json_text).
  fid = fopen(fname, 'w');
  if fid < 0
    error('write_json: cannot open %s', fname);
  end
  fprintf(fid, '%s\n', json_text(v));
  fclose(fid);
end
