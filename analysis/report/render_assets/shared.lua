--[[
shared.lua: what both engines need and neither Quarto 1.7 nor pandoc does for Typst.
Used by Quarto (_quarto.yml: filters, at post-render, as _render/shared.lua in the staged
project) and by the pandoc engine (after manuscript.lua). For Typst output only:

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

return { { Image = Image, Div = Div, Link = Link } }
