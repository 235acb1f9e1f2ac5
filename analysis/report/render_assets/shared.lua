--[[
shared.lua: what both engines need and neither Quarto 1.7 nor pandoc does for Typst.
Used by Quarto (_quarto.yml: filters, at post-render, as _render/shared.lua in the staged
project) and by the pandoc engine (after manuscript.lua).

All formats:
  * tables size their columns to their content (pandoc gives a pipe table wider than 72
    characters the widths of its dashes, so long keys overflowed equal narrow columns in
    Quarto's PDF), unless the dashes set unequal widths on purpose
    (analysis.report.results.markdown_table widths).
Typst output only:
  * images with alt text (fig-alt, or alt) -> image(..., alt: "...") so the PDF carries it;
  * ::: {.table-note} ... ::: -> #rr-table-note[...] (layout.typ);
  * links to another document of the project, NAME.html#anchor -> NAME.pdf#anchor.
Other formats pass through unchanged.
]]

local stringify = pandoc.utils.stringify

local function is_typst() return FORMAT:match("typst") ~= nil end

local function typst_string(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ") .. '"'
end

-- a width attribute as a Typst length ("80%", "12cm", "300px" -> 225pt)
local function typst_length(w)
  if w == nil or w == "" then return nil end
  local n, unit = w:match("^%s*([%d.]+)%s*(%a*%%?)%s*$")
  if not n then return nil end
  if unit == "%" or unit == "pt" or unit == "mm" or unit == "cm" or unit == "in" or unit == "em" then
    return n .. unit
  end
  if unit == "px" or unit == "" then return string.format("%gpt", tonumber(n) * 0.75) end
  return nil
end

local function Image(img)
  if not is_typst() then return nil end
  local alt = img.attributes["fig-alt"] or img.attributes["alt"]
  if (alt == nil or alt == "") and #img.caption > 0 then alt = stringify(img.caption) end
  if alt == nil or alt == "" then return nil end
  if img.src:match("^%a[%w+.-]*:") then return nil end  -- URL or data: URI: leave it to the writer
  local args = { typst_string(img.src), "alt: " .. typst_string(alt) }
  local width = typst_length(img.attributes["width"])
  if width then args[#args + 1] = "width: " .. width end
  local height = typst_length(img.attributes["height"])
  if height then args[#args + 1] = "height: " .. height end
  return pandoc.RawInline("typst", "#box(image(" .. table.concat(args, ", ") .. "))")
end

local function Table(tbl)
  local first, equal = nil, true
  for _, spec in ipairs(tbl.colspecs) do
    local w = spec[2]
    if type(w) ~= "number" then equal = true; break end
    first = first or w
    if math.abs(w - first) > 1e-6 then equal = false end
  end
  if not equal then return nil end
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  return tbl
end

local function Div(div)
  if not is_typst() or not div.classes:includes("table-note") then return nil end
  local blocks = pandoc.Blocks({ pandoc.RawBlock("typst", "#rr-table-note[") })
  blocks:extend(div.content)
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end

local function Link(link)
  if not is_typst() then return nil end
  local name, anchor = link.target:match("^([%w_.-]+)%.html(#?.*)$")
  if name and not link.target:match("^%a[%w+.-]*:") then
    link.target = name .. ".pdf" .. anchor
    return link
  end
  return nil
end

return { { Table = Table, Image = Image, Div = Div, Link = Link } }
