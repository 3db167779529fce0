--[[
crossref.lua: numbered chapters, sections, figures and tables, and cross-references, for the
built-in renderer. It does for the staged book what Quarto's crossref filter does:

* level-1 headers are chapters (1, 2, …; appendices, class "appendix", are A, B, …); headers with
  class "unnumbered" get no number; levels 2–3 are numbered within their chapter (1.1, 1.1.1);
* fenced divs `::: {#fig-x .fig-float caption="…" alt="…"}` (written by notebook.py from the cell
  options) become numbered figures, "Figur 1.2: …", with the alt text on the image;
  divs `::: {#tbl-x .tbl-float caption="…"}` give their table a numbered caption and the id;
* citations whose key is a known label (`@fig-x`, `@tbl-x`, `@sec-x`; capitalised `@Fig-x` at
  the start of a sentence) become links such as "figur 1.2"; other citations are left to citeproc.
  An unknown label becomes "?@label" and a warning, as in Quarto.

Titles and prefixes come from the document's `crossref` metadata (as in _quarto.yml).
--]]

local stringify = pandoc.utils.stringify

local titles = { fig = "Figur", tbl = "Tabell" }
local prefixes = { fig = "figur", tbl = "tabell", sec = "avsnitt", chapter = "kapitel", appendix = "bilaga" }
local delim = ":"

local labels = {}   -- id -> { kind = "fig"|"tbl"|"sec", number = "1.2", level = n }
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

local function read_meta(meta)
  local cr = meta.crossref
  if cr then
    if cr["fig-title"] then titles.fig = stringify(cr["fig-title"]) end
    if cr["tbl-title"] then titles.tbl = stringify(cr["tbl-title"]) end
    if cr["fig-prefix"] then prefixes.fig = stringify(cr["fig-prefix"]) end
    if cr["tbl-prefix"] then prefixes.tbl = stringify(cr["tbl-prefix"]) end
    if cr["sec-prefix"] then prefixes.sec = stringify(cr["sec-prefix"]) end
    if cr["ch-prefix"] then prefixes.chapter = stringify(cr["ch-prefix"]) end
    if cr["apx-prefix"] then prefixes.appendix = stringify(cr["apx-prefix"]) end
    if cr["title-delim"] then delim = stringify(cr["title-delim"]) end
  end
end

local function parse_inlines(text)
  if not text or text == "" then return pandoc.Inlines({}) end
  local doc = pandoc.read(text, "markdown")
  if #doc.blocks == 0 then return pandoc.Inlines({}) end
  return pandoc.utils.blocks_to_inlines(doc.blocks)
end

local function caption_inlines(kind, number, text)
  local inl = pandoc.Inlines({ pandoc.Strong({ pandoc.Str(titles[kind] .. "\u{a0}" .. number .. delim) }) })
  local body = parse_inlines(text)
  if #body > 0 then
    inl:insert(pandoc.Space())
    inl:extend(body)
  end
  return inl
end

-- Pass 1: number headers, figures and tables in document order.
local function number_blocks(blocks)
  local chapter, appendix = nil, 0
  local chapter_count = 0
  local sec = { 0, 0, 0 }
  local fig, tbl = 0, 0
  local out = pandoc.Blocks({})

  local function float_number(n)
    if chapter then return chapter .. "." .. n end
    return tostring(n)
  end

  for _, b in ipairs(blocks) do
    if b.t == "Header" then
      local numbered = not b.classes:includes("unnumbered")
      local number = nil
      if b.level == 1 then
        fig, tbl, sec = 0, 0, { 0, 0, 0 }
        if numbered then
          if b.classes:includes("appendix") then
            appendix = appendix + 1
            chapter = letters:sub(appendix, appendix)
          else
            chapter_count = chapter_count + 1
            chapter = tostring(chapter_count)
          end
          number = chapter
        else
          chapter = nil
        end
      elseif b.level <= 3 and numbered and chapter then
        sec[b.level] = sec[b.level] + 1
        for l = b.level + 1, 3 do sec[l] = 0 end
        number = chapter
        for l = 2, b.level do number = number .. "." .. sec[l] end
      end
      if number then
        b.attributes["number"] = number
        local content = pandoc.Inlines({ pandoc.Span({ pandoc.Str(number) }, { class = "header-section-number" }), pandoc.Space() })
        content:extend(b.content)
        b.content = content
      end
      if b.identifier ~= "" then
        labels[b.identifier] = { kind = "sec", number = number, level = b.level,
                                 title = stringify(b.content) }
      end
      out:insert(b)
    elseif b.t == "Div" and b.classes:includes("fig-float") then
      fig = fig + 1
      local number = float_number(fig)
      local alt = b.attributes["alt"] or ""
      local cap = caption_inlines("fig", number, b.attributes["caption"])
      local content = b.content:walk({
        Image = function(img)
          img.caption = pandoc.Inlines({ pandoc.Str(alt) })
          img.attributes["alt"] = nil
          return img
        end,
      })
      -- an image alone in a paragraph: keep it as a Plain block inside the figure
      content = content:walk({ Para = function(p) return pandoc.Plain(p.content) end })
      if FORMAT == "typst" then
        -- pandoc's typst writer drops the alt text; write the image call with `alt:` ourselves
        content = content:walk({
          Image = function(img)
            local esc = function(s) return (s:gsub("\\", "\\\\"):gsub('"', '\\"')) end
            -- natural size (a figure is narrower than the text block), shrunk only if wider
            local call = 'image("' .. esc(img.src) .. '", alt: "' .. esc(alt) .. '"'
            return pandoc.RawInline("typst", "#layout(size => { let img = " .. call .. ")\n"
              .. "if measure(img).width > size.width { " .. call .. ", width: 100%) } else { img } })")
          end,
        })
      end
      labels[b.identifier] = { kind = "fig", number = number }
      out:insert(pandoc.Figure(content, { pandoc.Plain(cap) }, pandoc.Attr(b.identifier, { "report-figure" })))
    elseif b.t == "Div" and b.classes:includes("tbl-float") then
      tbl = tbl + 1
      local number = float_number(tbl)
      local cap = caption_inlines("tbl", number, b.attributes["caption"])
      local done = false
      local content = b.content:walk({
        Table = function(t)
          if done then return nil end
          done = true
          t.caption = pandoc.Caption({ pandoc.Plain(cap) })
          t.attr = pandoc.Attr(b.identifier, { "report-table" })
          return t
        end,
      })
      if not done then
        io.stderr:write("crossref.lua: " .. b.identifier .. " har ingen tabell\n")
      end
      labels[b.identifier] = { kind = "tbl", number = number }
      out:insert(pandoc.Div(content, pandoc.Attr("", { "tbl-float" })))
    else
      out:insert(b)
    end
  end
  return out
end

local function is_label(id)
  local low = id:sub(1, 1):lower() .. id:sub(2)
  return low:match("^fig%-") or low:match("^tbl%-") or low:match("^sec%-")
end

local function ref_text(id)
  local low = id:sub(1, 1):lower() .. id:sub(2)
  local capital = id:sub(1, 1) ~= low:sub(1, 1)
  local l = labels[low]
  if not l then
    io.stderr:write("crossref.lua: okänd hänvisning @" .. id .. "\n")
    return pandoc.Inlines({ pandoc.Str("?@" .. id) })
  end
  local prefix = prefixes[l.kind]
  local number = l.number
  if l.kind == "sec" and l.level == 1 then
    prefix = (number and number:match("^%a$")) and prefixes.appendix or prefixes.chapter
  end
  local text
  if number then
    text = prefix .. "\u{a0}" .. number
  else
    text = l.title or low  -- an unnumbered section: refer to it by its title
  end
  if capital then text = text:sub(1, 1):upper() .. text:sub(2) end
  return pandoc.Inlines({ pandoc.Link(pandoc.Inlines({ pandoc.Str(text) }), "#" .. low) })
end

local function resolve_cites(blocks)
  return blocks:walk({
    Cite = function(c)
      for _, citation in ipairs(c.citations) do
        if not is_label(citation.id) then return nil end
      end
      local out = pandoc.Inlines({})
      for i, citation in ipairs(c.citations) do
        if i > 1 then
          out:insert(pandoc.Str(i == #c.citations and " och" or ","))
          out:insert(pandoc.Space())
        end
        out:extend(citation.prefix)
        if #citation.prefix > 0 then out:insert(pandoc.Space()) end
        out:extend(ref_text(citation.id))
      end
      return out
    end,
  })
end

-- HTML: every table outside a numbered table float (those are in `div.tbl-float`) gets a box of
-- its own, `div.table-scroll`, that scrolls sideways when the table is wider than the screen.
local function scroll_boxes(blocks)
  local function wrap(list)
    local out = pandoc.Blocks({})
    for _, b in ipairs(list) do
      if b.t == "Table" then
        out:insert(pandoc.Div({ b }, pandoc.Attr("", { "table-scroll" })))
      elseif b.t == "Div" and b.classes:includes("tbl-float") then
        out:insert(b)
      else
        if b.content and pandoc.utils.type(b.content) == "Blocks" then
          b.content = wrap(b.content)
        end
        out:insert(b)
      end
    end
    return out
  end
  return wrap(blocks)
end

function Pandoc(doc)
  read_meta(doc.meta)
  doc.blocks = number_blocks(doc.blocks)
  doc.blocks = resolve_cites(doc.blocks)
  if FORMAT:match("html") then doc.blocks = scroll_boxes(doc.blocks) end
  return doc
end
