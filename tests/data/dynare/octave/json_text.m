function t = json_text(v)
% JSON_TEXT  Render an Octave value as JSON text (dsge_agents reference-data helper).
%   Numbers are printed with %.17g, so every double reads back exactly.
%   Non-finite numbers become null.  Struct scalars become objects, cell arrays and
%   struct arrays become lists, numeric vectors become flat lists, numeric matrices
%   (both dimensions > 1) become lists of rows.  A struct with the single field
%   `json_matrix_` is rendered as a list of rows even when it has one row/column.
  if isstruct(v) && numel(v) == 1 && isfield(v, 'json_matrix_')
    A = v.json_matrix_;
    rows = cell(1, size(A, 1));
    for r = 1:size(A, 1)
      rows{r} = num_list(A(r, :));
    end
    t = ['[' strjoin(rows, ',') ']'];
  elseif isstruct(v) && numel(v) == 1
    f = fieldnames(v);
    parts = cell(1, numel(f));
    for j = 1:numel(f)
      try
        parts{j} = [quote(f{j}) ':' json_text(v.(f{j}))];
      catch err
        error('%s <- field %s', err.message, f{j});
      end
    end
    t = ['{' strjoin(parts, ',') '}'];
  elseif isstruct(v)
    parts = arrayfun(@(s) json_text(s), v(:)', 'UniformOutput', false);
    t = ['[' strjoin(parts, ',') ']'];
  elseif iscell(v)
    parts = cellfun(@json_text, v(:)', 'UniformOutput', false);
    t = ['[' strjoin(parts, ',') ']'];
  elseif ischar(v)
    t = quote(v);
  elseif islogical(v) && isscalar(v)
    if v, t = 'true'; else, t = 'false'; end
  elseif isnumeric(v) || islogical(v)
    v = double(v);
    if isscalar(v)
      t = num(v);
    elseif isvector(v) || isempty(v)
      t = num_list(v(:)');
    else
      t = json_text(struct('json_matrix_', v));
    end
  else
    error('json_text: unsupported type %s', class(v));
  end
end

function t = num_list(x)
  parts = arrayfun(@num, x, 'UniformOutput', false);
  t = ['[' strjoin(parts, ',') ']'];
end

function t = num(x)
  if ~isreal(x)
    error('json_text: complex number; split it into re/im first');
  end
  if ~isfinite(x)
    t = 'null';
  else
    t = sprintf('%.17g', x);
  end
end

function t = quote(s)
  s = strrep(s, '\', '\\');
  s = strrep(s, '"', '\"');
  t = ['"' s '"'];
end
