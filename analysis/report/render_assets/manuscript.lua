--[[
manuscript.lua: the Quarto features the pandoc engine of analysis.render needs.

  * callouts   ::: {.callout-note} ... :::   -> styled box (HTML div / Typst #callout)
  * numbering  sections (1, 1.1, ...), figures #fig-*, tables #tbl-*, in order of
               appearance; captions get "Figure N: " / "Table N: "
  * cross-refs @fig-x, @tbl-x, @sec-x -> "Figure N" / "Table N" / "Section N",
               linked to the anchor; -@fig-x gives the bare number; an unknown
               label gives "?@fig-x" (as Quarto does; analysis.render fails on it)
  * figures    fig-alt -> alt text; every image file must exist (paths relative to
               the staged project, which is also Typst's root, as in Quarto)
  * supplement rr-number-prefix: S numbers figures and tables S1, S2, ...

Runs before --citeproc, so citeproc only sees real bibliography keys.
Metadata read (set by analysis.render): rr-project-dir, rr-number-sections,
crossref.{fig,tbl,sec}-prefix, crossref.{fig,tbl}-title, crossref.title-delim,
rr-number-prefix.
]]

local stringify = pandoc.utils.stringify

local project_dir = "."
local number_sections = true
local words = {
  fig_prefix = "Figure", tbl_prefix = "Table", sec_prefix = "Section",
  fig_title = "Figure", tbl_title = "Table", delim = ":",
}
local labels = {}      -- id -> { prefix = "Figure", number = "3" }
local number_prefix = "" -- before every figure and table number (rr-number-prefix: "S" in a supplement)
local missing = {}     -- image files that do not exist

local CALLOUT_TITLES = {
  note = "Note", warning = "Warning", important = "Important",
  tip = "Tip", caution = "Caution",
}

local function is_typst() return FORMAT:match("typst") ~= nil end
local function is_html() return FORMAT:match("html") ~= nil end

-- Lexically normalise an absolute path: drop ".", resolve "..".
local function normalize(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #parts > 0 then table.remove(parts) end
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return "/" .. table.concat(parts, "/")
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

---------------------------------------------------------------- metadata
local function read_meta(meta)
  if meta["rr-project-dir"] then project_dir = stringify(meta["rr-project-dir"]) end
  if meta["rr-number-sections"] ~= nil then
    number_sections = meta["rr-number-sections"] == true
      or stringify(meta["rr-number-sections"]) == "true"
  end
  local cr = meta.crossref
  if type(cr) == "table" then
    for key, field in pairs({ fig_prefix = "fig-prefix", tbl_prefix = "tbl-prefix",
                              sec_prefix = "sec-prefix", fig_title = "fig-title",
                              tbl_title = "tbl-title", delim = "title-delim" }) do
      if cr[field] ~= nil then words[key] = stringify(cr[field]) end
    end
  end
  -- a supplement (analysis.report.render stages it so): "Table S1", "Figure S1"
  if meta["rr-number-prefix"] then
    number_prefix = stringify(meta["rr-number-prefix"])
    words.fig_prefix, words.fig_title, words.tbl_prefix, words.tbl_title = "Figure", "Figure", "Table", "Table"
  end
end

---------------------------------------------------------------- callouts
local function typst_inline(inlines)
  local out = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "typst")
  return (out:gsub("%s+$", ""))
end

local function Callout(div)
  local kind
  for _, class in ipairs(div.classes) do
    kind = kind or class:match("^callout%-(%a+)$")
  end
  if not kind then return nil end

  local content = div.content
  local title
  if div.attributes.title then
    title = pandoc.Inlines(pandoc.read(div.attributes.title, "markdown").blocks[1].content)
  elseif #content > 0 and content[1].t == "Header" then
    title = content[1].content
    content = pandoc.Blocks({ table.unpack(content, 2) })
  else
    title = pandoc.Inlines({ pandoc.Str(CALLOUT_TITLES[kind] or (kind:sub(1, 1):upper() .. kind:sub(2))) })
  end

  if is_typst() then
    local blocks = pandoc.Blocks({
      pandoc.RawBlock("typst", string.format('#callout(kind: "%s", title: [%s])[', kind, typst_inline(title))),
    })
    blocks:extend(content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  return pandoc.Div({
    pandoc.Div(pandoc.Plain(title), pandoc.Attr("", { "callout-title" })),
    pandoc.Div(content, pandoc.Attr("", { "callout-body" })),
  }, pandoc.Attr(div.identifier, { "callout", "callout-" .. kind }, { role = "note" }))
end

---------------------------------------------------------------- numbering
local function prefix_caption(blocks, text)
  local lead = pandoc.Inlines({ pandoc.Str(text) })
  if #blocks == 0 then
    return pandoc.Blocks({ pandoc.Plain(lead) })
  end
  local first = blocks[1]
  if first.t == "Plain" or first.t == "Para" then
    lead:insert(pandoc.Space())
    lead:extend(first.content)
    first.content = lead
  else
    blocks:insert(1, pandoc.Plain(lead))
  end
  return blocks
end

-- Quarto figure/table divs (::: {#fig-x} ... caption para :::) -> Figure / Table
local function FigureDiv(div)
  local id = div.identifier
  if id:match("^tbl%-") then
    for i, block in ipairs(div.content) do
      if block.t == "Table" and block.identifier == "" then
        block.identifier = id
        div.identifier = ""
        div.content[i] = block
        return div
      end
    end
  elseif id:match("^fig%-") and #div.content >= 2 and div.content[#div.content].t == "Para" then
    local caption = div.content[#div.content].content
    local body = pandoc.Blocks({ table.unpack(div.content, 1, #div.content - 1) })
    return pandoc.Figure(body, { pandoc.Plain(caption) }, pandoc.Attr(id, div.classes, div.attributes))
  end
  return nil
end

local function fix_image(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.caption = pandoc.Inlines({ pandoc.Str(alt) })
    img.attributes["fig-alt"] = nil
    if is_html() then img.attributes["alt"] = nil end
  end
  local src = img.src
  if src:match("^%a[%w+.-]*:") then return img end       -- URL or data: URI
  local path = src:sub(1, 1) == "/" and src or normalize(project_dir .. "/" .. src)
  if not file_exists(path) then
    missing[#missing + 1] = src
  end
  return img
end

-- the n-th number of a kind (with the supplement's prefix: S1, S2, ...)
local function nth(kind, n)
  return number_prefix .. tostring(n)
end

local function Number(doc)
  -- top level of section numbering = shallowest numbered header
  local top = 99
  doc.blocks:walk({
    Header = function(h)
      if not h.classes:includes("unnumbered") and h.level < top then top = h.level end
    end,
  })
  local sec = {}
  local count = { fig = 0, tbl = 0 }

  local function label_figure(fig)
    if not fig.identifier:match("^fig%-") then return nil end
    count.fig = count.fig + 1
    local n = nth("fig", count.fig)
    labels[fig.identifier] = { prefix = words.fig_prefix, number = n }
    fig.caption.long = prefix_caption(fig.caption.long, words.fig_title .. " " .. n .. words.delim)
    return fig
  end

  local function label_table(tbl)
    if not tbl.identifier:match("^tbl%-") then return tbl end
    count.tbl = count.tbl + 1
    local n = nth("tbl", count.tbl)
    labels[tbl.identifier] = { prefix = words.tbl_prefix, number = n }
    tbl.caption.long = prefix_caption(tbl.caption.long, words.tbl_title .. " " .. n .. words.delim)
    return tbl
  end

  local function label_header(h)
    if h.classes:includes("unnumbered") or not number_sections then
      if h.identifier ~= "" then
        labels[h.identifier] = { prefix = words.sec_prefix, number = stringify(h.content) }
      end
      return nil
    end
    local depth = h.level - top + 1
    for d = 1, depth do sec[d] = sec[d] or 0 end
    sec[depth] = sec[depth] + 1
    for d = depth + 1, #sec do sec[d] = nil end
    local n = table.concat(sec, ".", 1, depth)
    if h.identifier ~= "" then labels[h.identifier] = { prefix = words.sec_prefix, number = n } end
    local content = pandoc.Inlines({
      pandoc.Span({ pandoc.Str(n) }, pandoc.Attr("", { "header-section-number" })),
      pandoc.Space(),
    })
    content:extend(h.content)
    h.content = content
    h.attributes["number"] = n
    return h
  end

  doc.blocks = doc.blocks:walk({
    traverse = "topdown",
    Div = FigureDiv,
  })
  doc.blocks = doc.blocks:walk({
    traverse = "topdown",
    Header = label_header,
    Figure = label_figure,
    Table = label_table,
    Image = fix_image,
  })
  -- Typst: the top-level sections become level-1 headings, as Quarto shifts them (so the
  -- shared layout.typ sees the same levels in both engines)
  if is_typst() and top > 1 and top < 99 then
    doc.blocks = doc.blocks:walk({ Header = function(h) h.level = math.max(1, h.level - (top - 1)); return h end })
  end
  if #missing > 0 then
    error("figure file(s) not found (paths are relative to " .. project_dir .. "): "
      .. table.concat(missing, ", "), 0)
  end
  return doc
end

---------------------------------------------------------------- cross-refs
local function Cite(cite)
  for _, c in ipairs(cite.citations) do
    if not (labels[c.id] or c.id:match("^fig%-") or c.id:match("^tbl%-") or c.id:match("^sec%-")) then
      return nil  -- a bibliography citation: leave it to citeproc
    end
  end
  local out = pandoc.Inlines({})
  for i, c in ipairs(cite.citations) do
    if i > 1 then out:extend({ pandoc.Str(","), pandoc.Space() }) end
    if #c.prefix > 0 then
      out:extend(c.prefix)
      out:insert(pandoc.Space())
    end
    local label = labels[c.id]
    if label then
      local text = c.mode == "SuppressAuthor" and label.number or (label.prefix .. "\u{a0}" .. label.number)
      out:insert(pandoc.Link({ pandoc.Str(text) }, "#" .. c.id, "", pandoc.Attr("", { "quarto-xref" })))
    else
      out:insert(pandoc.Str("?@" .. c.id))
    end
    if #c.suffix > 0 then out:extend(c.suffix) end
  end
  return out
end

-- HTML: wide tables scroll inside the text column instead of overflowing it
local function TableWrap(tbl)
  if is_html() then return pandoc.Div({ tbl }, pandoc.Attr("", { "table-wrap" })) end
end

-- HTML: sections of class .appendix move to the end, after the references, as Quarto's HTML
-- does (its PDF keeps the order of the source, and so does ours); numbers stay as numbered
local function MoveAppendix(doc)
  if not is_html() then return nil end
  local kept, moved = pandoc.Blocks({}), pandoc.Blocks({})
  local level = nil  -- level of the appendix header being moved, while inside one
  for _, block in ipairs(doc.blocks) do
    if block.t == "Header" then
      if block.classes:includes("appendix") then
        level = block.level
      elseif level and block.level <= level then
        level = nil
      end
    end
    if level then moved:insert(block) else kept:insert(block) end
  end
  if #moved == 0 then return nil end
  kept:extend(moved)
  doc.blocks = kept
  return doc
end

return {
  { Meta = read_meta },
  { Div = Callout },
  { Pandoc = Number },
  { Cite = Cite, Table = TableWrap },
  { Pandoc = MoveAppendix },
}
