--[[
shared.lua: what both engines need and neither Quarto 1.7 nor pandoc does for Typst.
Used by Quarto (_quarto.yml: filters, at post-render, as _render/shared.lua in the staged
project) and by the pandoc engine (after manuscript.lua).

All formats:
  * tables size their columns to their content (pandoc gives a pipe table wider than 72
    characters the widths of its dashes, so long keys overflowed equal narrow columns in
    Quarto's PDF), unless the dashes set unequal widths on purpose
    (analysis.report.results.markdown_table widths) and every column's longest word fits.
Typst output only:
  * images with alt text (fig-alt, or alt) -> image(..., alt: "...") so the PDF carries it;
  * ::: {.table-note} ... ::: -> #rr-table-note(tbl: "tbl-x")[...] (layout.typ), the label of
    the table before it, so the note floats with its table;
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

-- the longest word of each column (characters), header and body
local function longest_words(tbl)
  local longest = {}
  local function row_words(row)
    for i, cell in ipairs(row.cells) do
      for word in stringify(cell.contents):gmatch("%S+") do
        longest[i] = math.max(longest[i] or 0, utf8.len(word) or #word)
      end
    end
  end
  for _, row in ipairs(tbl.head.rows) do row_words(row) end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do row_words(row) end
  end
  return longest
end

-- A column's set width is kept unless its longest word cannot fit in it (at about 4.7pt a
-- character of 8.5pt type on a 460pt text width): a word wider than its cell is printed over
-- the next cell. Equal widths (the dashes of a wide pipe table) are dropped.
local function Table(tbl)
  local first, equal = nil, true
  for _, spec in ipairs(tbl.colspecs) do
    local w = spec[2]
    if type(w) ~= "number" then return nil end
    first = first or w
    if math.abs(w - first) > 1e-6 then equal = false end
  end
  if not equal then
    local longest = longest_words(tbl)
    for i, spec in ipairs(tbl.colspecs) do
      if (longest[i] or 0) * 4.7 + 10 > spec[2] * 460 then equal = true end
    end
  end
  if not equal then return nil end
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  return tbl
end

-- the label of the last table seen, in document order: a Table or Figure with a tbl- id, or
-- Quarto's rendered Typst float (raw "...)<tbl-x>")
local last_table = nil

local function note_for(div)
  local blocks = pandoc.Blocks({ pandoc.RawBlock("typst", string.format('#rr-table-note(tbl: %s)[',
    last_table and typst_string(last_table) or "none")) })
  blocks:extend(div.content)
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end

local function Notes(doc)
  if not is_typst() then return nil end
  local function seen(id) if id and id:match("^tbl%-") then last_table = id end end
  local function raw(el)
    if el.format == "typst" then
      for id in el.text:gmatch("<(tbl%-[%w_-]+)>") do last_table = id end
    end
  end
  doc.blocks = doc.blocks:walk({
    traverse = "topdown",
    Table = function(t) seen(t.identifier) end,
    Figure = function(f) seen(f.identifier) end,
    RawBlock = raw,
    RawInline = raw,
    Div = function(div)
      seen(div.identifier)
      if div.classes:includes("table-note") then return note_for(div), false end
    end,
  })
  return doc
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

return { { Table = Table, Image = Image, Link = Link }, { Pandoc = Notes } }
