-- Every number inserted from results says where it comes from (#29), with Quarto.
--
-- A pre-AST filter (_quarto.yml: filters: - at: pre-ast): Quarto's reader has turned each
-- {{< var key >}} into a shortcode span; this wraps it in a span carrying the number's key, the
-- section and cell that computed it and its full-precision value (from _provenance.json, written
-- by `python -m analysis.report.notebook_pages provenance`), as the pandoc engine does
-- (analysis/report/number_marks.py). The shortcode inside is then resolved by Quarto as usual, so
-- the printed text does not change; keys that no section wrote (build.*, supp.*) are left alone.
-- Typst ignores span attributes: the PDF shows the plain number.

local provenance = nil

local function load_provenance()
  if provenance ~= nil then return provenance end
  provenance = {}
  local dir = "."
  if quarto ~= nil and quarto.project ~= nil and quarto.project.directory ~= nil then
    dir = quarto.project.directory
  end
  local f = io.open(dir .. "/_provenance.json", "r")
  if f == nil then return provenance end
  local text = f:read("a")
  f:close()
  local ok, data = pcall(pandoc.json.decode, text, false)
  if ok and type(data) == "table" then provenance = data end
  return provenance
end

local function text_of(v)
  if v == nil or v == pandoc.json.null then return nil end
  if type(v) == "string" then return v end
  return pandoc.json.encode(v)
end

local function param_values(span)
  local values = {}
  for _, el in ipairs(span.content) do
    if el.t == "Span" and el.classes:includes("quarto-shortcode__-param") then
      table.insert(values, el.attributes["data-value"])
    end
  end
  return values
end

return {
  {
    Span = function(span)
      if not span.classes:includes("quarto-shortcode__") then return nil end
      local params = param_values(span)
      if params[1] ~= "var" or params[2] == nil then return nil end
      local key = params[2]
      local info = load_provenance()[key]
      if info == nil then return nil end
      local value = text_of(info.value) or text_of(info.text) or ""
      local section = text_of(info.section) or ""
      local cell = text_of(info.cell)
      local where = section
      if cell then where = section .. ", cell " .. cell end
      local attrs = {
        ["data-key"] = key, ["data-section"] = section, ["data-value"] = value,
        ["title"] = key .. " = " .. value .. " (" .. where .. ")",
      }
      local content = pandoc.Inlines({ span })
      if cell then
        attrs["data-cell"] = cell
        attrs["data-href"] = "notebooks/" .. section .. ".html#cell-" .. cell
        content = pandoc.Inlines({ pandoc.Link({ span }, attrs["data-href"], "",
          pandoc.Attr("", {}, { style = "color:inherit;text-decoration:none" })) })
      end
      return pandoc.Span(content, pandoc.Attr("", { "rr-num" }, attrs))
    end,
  },
}
