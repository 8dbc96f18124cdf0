function paths = find_objects(v, prefix)
% FIND_OBJECTS  Paths of classdef/old-style objects nested in structs and cells.
  paths = {};
  if isobject(v)
    paths = {prefix};
  elseif isstruct(v)
    f = fieldnames(v);
    for k = 1:numel(v)
      for j = 1:numel(f)
        if numel(v) > 1, p = sprintf('%s(%d).%s', prefix, k, f{j}); else, p = [prefix '.' f{j}]; end
        paths = [paths, find_objects(v(k).(f{j}), p)];
      end
    end
  elseif iscell(v)
    for k = 1:numel(v)
      paths = [paths, find_objects(v{k}, sprintf('%s{%d}', prefix, k))];
    end
  end
end
