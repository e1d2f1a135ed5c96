<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
  <context>
    <name>ChangePanel</name>
    <message>
      <source>Spectral (no model, instant)</source>
      <translation>Spektral (ohne Modell, sofort)</translation>
    </message>
    <message>
      <source>Semantic (deep features)</source>
      <translation>Semantisch (tiefe Merkmale)</translation>
    </message>
    <message>
      <source>Vision-language model (writes a caption)</source>
      <translation>Vision-Language-Modell (schreibt eine Bildbeschreibung)</translation>
    </message>
    <message>
      <source>Before (A)</source>
      <translation>Vorher (A)</translation>
    </message>
    <message>
      <source>After (B)</source>
      <translation>Nachher (B)</translation>
    </message>
    <message>
      <source>Dates</source>
      <translation>Aufnahmedaten</translation>
    </message>
    <message>
      <source>Method</source>
      <translation>Methode</translation>
    </message>
    <message>
      <source>automatic</source>
      <translation>automatisch</translation>
    </message>
    <message>
      <source>Threshold</source>
      <translation>Schwellenwert</translation>
    </message>
    <message>
      <source>Label change regions with CLIP</source>
      <translation>Änderungsflächen mit CLIP benennen</translation>
    </message>
    <message>
      <source>Labels, comma separated</source>
      <translation>Bezeichnungen, durch Kommas getrennt</translation>
    </message>
    <message>
      <source>Labels</source>
      <translation>Bezeichnungen</translation>
    </message>
    <message>
      <source>none</source>
      <translation>keine</translation>
    </message>
    <message>
      <source>Vision-language model: also caption the N largest change regions, each from its own chip of both dates</source>
      <translation>Vision-Language-Modell: zusätzlich die N größten Änderungsbereiche beschreiben, jeden aus seinem eigenen Ausschnitt beider Zeitpunkte</translation>
    </message>
    <message>
      <source>Region captions</source>
      <translation>Bereichsbeschreibungen</translation>
    </message>
    <message>
      <source>Compare the two dates</source>
      <translation>Die beiden Zeitpunkte vergleichen</translation>
    </message>
    <message>
      <source>Ask about the change, e.g. what was built?</source>
      <translation>Frage zur Änderung, z. B.: Was wurde gebaut?</translation>
    </message>
    <message>
      <source>Ask</source>
      <translation>Fragen</translation>
    </message>
    <message>
      <source>Asking about the change</source>
      <translation>Frage zur Änderung wird beantwortet</translation>
    </message>
    <message>
      <source>Change heat</source>
      <translation>Änderungsstärke</translation>
    </message>
    <message>
      <source>Change regions</source>
      <translation>Änderungsflächen</translation>
    </message>
    <message>
      <source>Compare two dates first.</source>
      <translation>Vergleichen Sie zuerst zwei Zeitpunkte.</translation>
    </message>
    <message>
      <source>date unknown</source>
      <translation>Datum unbekannt</translation>
    </message>
    <message>
      <source>Choose two different raster layers: A (before) and B (after).</source>
      <translation>Wählen Sie zwei verschiedene Rasterlayer: A (vorher) und B (nachher).</translation>
    </message>
    <message>
      <source>Change</source>
      <translation>Änderung</translation>
    </message>
    <message>
      <source>Comparing {} and {}</source>
      <translation>{} und {} werden verglichen</translation>
    </message>
    <message>
      <source>{} change regions between {} and {}.</source>
      <translation>{} Änderungsflächen zwischen {} und {}.</translation>
    </message>
    <message>
      <source>No change found between {} and {} {}.</source>
      <translation>Keine Änderung zwischen {} und {} {} gefunden.</translation>
    </message>
    <message>
      <source>'{}' and '{}' cover different places (they do not overlap): choose two dates of the same area.</source>
      <translation>„{}“ und „{}“ zeigen verschiedene Orte (sie überlappen sich nicht): Wählen Sie zwei Zeitpunkte desselben Gebiets.</translation>
    </message>
    <message>
      <source>where '{}' and '{}' overlap</source>
      <translation>im Überlappungsbereich von „{}“ und „{}“</translation>
    </message>
    <message>
      <source>You</source>
      <translation>Sie</translation>
    </message>
    <message>
      <source>Region #{}</source>
      <translation>Bereich #{}</translation>
    </message>
  </context>
  <context>
    <name>ChatPanel</name>
    <message>
      <source>Caption this view</source>
      <translation>Diesen Kartenausschnitt beschreiben</translation>
    </message>
    <message>
      <source>Caption the whole layer</source>
      <translation>Gesamten Layer beschreiben</translation>
    </message>
    <message>
      <source>Caption the drawn area</source>
      <translation>Gezeichneten Bereich beschreiben</translation>
    </message>
    <message>
      <source>Brief</source>
      <translation>Kurz</translation>
    </message>
    <message>
      <source>Detailed</source>
      <translation>Ausführlich</translation>
    </message>
    <message>
      <source>More detailed</source>
      <translation>Sehr ausführlich</translation>
    </message>
    <message>
      <source>Ask about this view, e.g. how many ships are in the harbour?</source>
      <translation>Frage zu diesem Kartenausschnitt, z. B.: Wie viele Schiffe liegen im Hafen?</translation>
    </message>
    <message>
      <source>Ask</source>
      <translation>Fragen</translation>
    </message>
    <message>
      <source>New chat</source>
      <translation>Neuer Chat</translation>
    </message>
    <message>
      <source>Export chat…</source>
      <translation>Chat exportieren…</translation>
    </message>
    <message>
      <source>Caption</source>
      <translation>Bildbeschreibung</translation>
    </message>
    <message>
      <source>EO Lens captions</source>
      <translation>EO-Lens-Bildbeschreibungen</translation>
    </message>
    <message>
      <source>You</source>
      <translation>Sie</translation>
    </message>
    <message>
      <source>EO Lens</source>
      <translation>EO Lens</translation>
    </message>
    <message>
      <source>EO Lens chat</source>
      <translation>EO-Lens-Chat</translation>
    </message>
    <message>
      <source>Export chat</source>
      <translation>Chat exportieren</translation>
    </message>
    <message>
      <source>Nothing to export yet: caption the view or ask a question first.</source>
      <translation>Noch nichts zu exportieren: Lassen Sie zuerst den Kartenausschnitt beschreiben oder stellen Sie eine Frage.</translation>
    </message>
    <message>
      <source>Captioning {}</source>
      <translation>Bildbeschreibung für {} wird erstellt</translation>
    </message>
    <message>
      <source>Caption ({})</source>
      <translation>Bildbeschreibung ({})</translation>
    </message>
    <message>
      <source>Asking about {}</source>
      <translation>Frage zu {} wird beantwortet</translation>
    </message>
    <message>
      <source>EO Lens conversation about {}</source>
      <translation>EO-Lens-Unterhaltung über {}</translation>
    </message>
    <message>
      <source>Chat exported to {}</source>
      <translation>Chat nach {} exportiert</translation>
    </message>
    <message>
      <source>Chat turn {} boxes</source>
      <translation>Chat-Runde {}: Boxen</translation>
    </message>
    <message>
      <source>New conversation about {} ({}): the earlier turns were about another capture; they are kept in the EO Lens chat layer.</source>
      <translation>Neue Unterhaltung über {} ({}): Die früheren Runden betrafen eine andere Erfassung; sie bleiben im EO-Lens-Chat-Layer erhalten.</translation>
    </message>
  </context>
  <context>
    <name>ContextRow</name>
    <message>
      <source>no layers</source>
      <translation>keine Layer</translation>
    </message>
    <message>
      <source>Vector layers whose features in the captured area go into the prompt (name, id, fields, where in the image)</source>
      <translation>Vektorlayer, deren Objekte im erfassten Bereich in den Prompt kommen (Name, ID, Felder, Lage im Bild)</translation>
    </message>
    <message>
      <source>A folder of .txt, .md and .pdf documents; the passages that match the question go into the prompt</source>
      <translation>Ein Ordner mit .txt-, .md- und .pdf-Dokumenten; die zur Frage passenden Abschnitte kommen in den Prompt</translation>
    </message>
    <message>
      <source>documents folder</source>
      <translation>Dokumentordner</translation>
    </message>
    <message>
      <source>Show prompt</source>
      <translation>Prompt zeigen</translation>
    </message>
    <message>
      <source>Context</source>
      <translation>Kontext</translation>
    </message>
    <message>
      <source>The layer '{}' is no longer in the project.</source>
      <translation>Der Layer „{}“ ist nicht mehr im Projekt.</translation>
    </message>
    <message>
      <source>The documents folder '{}' does not exist.</source>
      <translation>Der Dokumentenordner „{}“ existiert nicht.</translation>
    </message>
    <message>
      <source>'{}' is a file, not a folder; choose a folder of documents (.txt, .md, .pdf).</source>
      <translation>„{}“ ist eine Datei, kein Ordner; wählen Sie einen Ordner mit Dokumenten (.txt, .md, .pdf).</translation>
    </message>
    <message>
      <source>Sources: {}</source>
      <translation>Quellen: {}</translation>
    </message>
  </context>
  <context>
    <name>EOLens</name>
    <message>
      <source>EO Lens panel</source>
      <translation>EO-Lens-Bedienfeld</translation>
    </message>
    <message>
      <source>EO Lens settings…</source>
      <translation>EO-Lens-Einstellungen…</translation>
    </message>
    <message>
      <source>Install…</source>
      <translation>Installieren…</translation>
    </message>
  </context>
  <context>
    <name>EOLensDock</name>
    <message>
      <source>EO Lens</source>
      <translation>EO Lens</translation>
    </message>
    <message>
      <source>auto</source>
      <translation>automatisch</translation>
    </message>
    <message>
      <source>Bands shown to the model as red, green, blue, e.g. 4,3,2 (one band is repeated as grey); empty picks RGB</source>
      <translation>Bänder, die das Modell als Rot, Grün, Blau sieht, z. B. 4,3,2 (ein Band wird als Grau wiederholt); leer wählt RGB</translation>
    </message>
    <message>
      <source>Draw…</source>
      <translation>Zeichnen…</translation>
    </message>
    <message>
      <source>Drag a rectangle on the map to analyse only that area</source>
      <translation>Ziehen Sie ein Rechteck auf der Karte auf, um nur diesen Bereich zu analysieren</translation>
    </message>
    <message>
      <source>Settings…</source>
      <translation>Einstellungen…</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Layer</source>
      <translation>Layer</translation>
    </message>
    <message>
      <source>Bands</source>
      <translation>Bänder</translation>
    </message>
    <message>
      <source>Area</source>
      <translation>Bereich</translation>
    </message>
    <message>
      <source>Current view</source>
      <translation>Aktueller Kartenausschnitt</translation>
    </message>
    <message>
      <source>Whole layer</source>
      <translation>Gesamter Layer</translation>
    </message>
    <message>
      <source>Drawn rectangle</source>
      <translation>Gezeichnetes Rechteck</translation>
    </message>
    <message>
      <source>Chat</source>
      <translation>Chat</translation>
    </message>
    <message>
      <source>Find</source>
      <translation>Finden</translation>
    </message>
    <message>
      <source>Change</source>
      <translation>Änderungen</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>Suche</translation>
    </message>
    <message>
      <source>Choose a raster layer first.</source>
      <translation>Wählen Sie zuerst einen Rasterlayer.</translation>
    </message>
    <message>
      <source>Draw a rectangle on the map first (Draw…).</source>
      <translation>Zeichnen Sie zuerst ein Rechteck auf der Karte (Zeichnen…).</translation>
    </message>
    <message>
      <source>Give one band (grey) or three bands (red, green, blue), e.g. 4,3,2.</source>
      <translation>Geben Sie ein Band (Grau) oder drei Bänder (Rot, Grün, Blau) an, z. B. 4,3,2.</translation>
    </message>
    <message>
      <source>EO Lens is still working; cancel it first.</source>
      <translation>EO Lens arbeitet noch; brechen Sie den Vorgang zuerst ab.</translation>
    </message>
    <message>
      <source>Done.</source>
      <translation>Fertig.</translation>
    </message>
    <message>
      <source>Cancelled.</source>
      <translation>Abgebrochen.</translation>
    </message>
    <message>
      <source>Cancelling…</source>
      <translation>Wird abgebrochen…</translation>
    </message>
    <message>
      <source>'{}'</source>
      <translation>„{}“</translation>
    </message>
    <message>
      <source>The drawn rectangle does not cover {}: draw it over the layer, or set Area to Whole layer.</source>
      <translation>Das gezeichnete Rechteck deckt {} nicht ab: Zeichnen Sie es über dem Layer oder stellen Sie Bereich auf Gesamter Layer.</translation>
    </message>
    <message>
      <source>The current view does not show {}: zoom to it, or set Area to Whole layer.</source>
      <translation>Der aktuelle Kartenausschnitt zeigt {} nicht: Zoomen Sie dorthin oder stellen Sie Bereich auf Gesamter Layer.</translation>
    </message>
    <message>
      <source>Zoom to layer</source>
      <translation>Auf Layer zoomen</translation>
    </message>
    <message>
      <source>Zoom to it</source>
      <translation>Dorthin zoomen</translation>
    </message>
    <message>
      <source>Bands must be numbers separated by commas, e.g. 4,3,2.</source>
      <translation>Bänder müssen durch Kommas getrennte Zahlen sein, z. B. 4,3,2.</translation>
    </message>
    <message>
      <source>{} result layers now live in {}</source>
      <translation>{} Ergebnislayer liegen jetzt in {}</translation>
    </message>
    <message>
      <source>{} was cancelled.</source>
      <translation>{} wurde abgebrochen.</translation>
    </message>
  </context>
  <context>
    <name>EOLensErrors</name>
    <message>
      <source>Not enough memory to run '{name}'{where}; try a smaller area, a smaller model or the CPU.</source>
      <translation>Nicht genügend Speicher, um „{name}“{where} auszuführen; versuchen Sie einen kleineren Bereich, ein kleineres Modell oder die CPU.</translation>
    </message>
    <message>
      <source>Not enough memory{where}; try a smaller area, a smaller model or the CPU.</source>
      <translation>Nicht genügend Speicher{where}; versuchen Sie einen kleineren Bereich, ein kleineres Modell oder die CPU.</translation>
    </message>
    <message>
      <source>DOCUMENTS: the folder '{folder}' does not exist.</source>
      <translation>DOCUMENTS: Der Ordner „{folder}“ existiert nicht.</translation>
    </message>
    <message>
      <source>DOCUMENTS: '{folder}' is a file, not a folder; DOCUMENTS needs a folder of documents (.txt, .md, .pdf).</source>
      <translation>DOCUMENTS: „{folder}“ ist eine Datei, kein Ordner; DOCUMENTS braucht einen Ordner mit Dokumenten (.txt, .md, .pdf).</translation>
    </message>
    <message>
      <source>Raster '{path}' is empty (0 bytes).</source>
      <translation>Das Raster „{path}“ ist leer (0 Byte).</translation>
    </message>
    <message>
      <source>Raster '{path}' has no CRS; assign one in Layer Properties.</source>
      <translation>Das Raster „{path}“ hat kein KBS; weisen Sie in den Layereigenschaften eines zu.</translation>
    </message>
    <message>
      <source>The extent {extent} does not overlap raster '{path}'.</source>
      <translation>Die Ausdehnung {extent} überschneidet sich nicht mit dem Raster „{path}“.</translation>
    </message>
    <message>
      <source>Model '{model}' cannot do this; it supports: {tasks}.</source>
      <translation>Modell „{model}“ kann das nicht; es unterstützt: {tasks}.</translation>
    </message>
    <message>
      <source>No model found at '{path}': that folder or file does not exist.</source>
      <translation>Kein Modell unter „{path}“ gefunden: Dieser Ordner bzw. diese Datei existiert nicht.</translation>
    </message>
    <message>
      <source>Unknown model '{model}'. Use a model name ({names}), a hub id such as org/name or org/name@revision, or a local folder.</source>
      <translation>Unbekanntes Modell „{model}“. Verwenden Sie einen Modellnamen ({names}), eine Hub-ID wie org/name oder org/name@revision oder einen lokalen Ordner.</translation>
    </message>
  </context>
  <context>
    <name>EOLensInstaller</name>
    <message>
      <source>Installing EO Lens packages</source>
      <translation>EO-Lens-Pakete werden installiert</translation>
    </message>
    <message>
      <source>EO Lens: install Python packages</source>
      <translation>EO Lens: Python-Pakete installieren</translation>
    </message>
    <message>
      <source>pip's log appears here.</source>
      <translation>Hier erscheint das Protokoll von pip.</translation>
    </message>
    <message>
      <source>Nothing is installed until you press Install. Packages go into a private folder that QGIS's own Python packages are never replaced from:</source>
      <translation>Es wird nichts installiert, bevor Sie auf „Installieren“ klicken. Die Pakete kommen in einen eigenen Ordner, sodass die Python-Pakete von QGIS selbst nie ersetzt werden:</translation>
    </message>
    <message>
      <source>CPU</source>
      <translation>CPU</translation>
    </message>
    <message>
      <source>CUDA (no NVIDIA GPU detected)</source>
      <translation>CUDA (keine NVIDIA-GPU erkannt)</translation>
    </message>
    <message>
      <source>Install</source>
      <translation>Installieren</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Close</source>
      <translation>Schließen</translation>
    </message>
    <message>
      <source>PyTorch build:</source>
      <translation>PyTorch-Build:</translation>
    </message>
    <message>
      <source>Command:</source>
      <translation>Befehl:</translation>
    </message>
    <message>
      <source>Through the proxy set in QGIS's network options.</source>
      <translation>Über den Proxy aus den Netzwerkeinstellungen von QGIS.</translation>
    </message>
    <message>
      <source>Installed</source>
      <translation>Installiert</translation>
    </message>
    <message>
      <source>Installation cancelled; nothing was changed.</source>
      <translation>Installation abgebrochen; es wurde nichts geändert.</translation>
    </message>
    <message>
      <source>CUDA (NVIDIA GPU: {0})</source>
      <translation>CUDA (NVIDIA-GPU: {0})</translation>
    </message>
    <message>
      <source>EO Lens needs these Python packages, which QGIS's Python does not have: {0}.</source>
      <translation>EO Lens benötigt diese Python-Pakete, die im Python von QGIS fehlen: {0}.</translation>
    </message>
    <message>
      <source>Install these from your distribution first (they must use QGIS's own GDAL/GEOS): {0}</source>
      <translation>Installieren Sie diese zuerst aus Ihrer Distribution (sie müssen das GDAL/GEOS von QGIS verwenden): {0}</translation>
    </message>
    <message>
      <source>Installation failed: {0}</source>
      <translation>Installation fehlgeschlagen: {0}</translation>
    </message>
    <message>
      <source>What will be installed</source>
      <translation>Was installiert wird</translation>
    </message>
  </context>
  <context>
    <name>EOLensMessages</name>
    <message>
      <source>Zoom to layer</source>
      <translation>Auf Layer zoomen</translation>
    </message>
  </context>
  <context>
    <name>EOLensProcessing</name>
    <message>
      <source>Ask about image region</source>
      <translation>Frage zum Bildbereich stellen</translation>
    </message>
    <message>
      <source>Answers one question (PROMPT) about the raster or EXTENT. OUTPUT holds the captured footprint with the question and answer, plus any objects the answer points at. CONTEXT_LAYERS (their features in the area) and DOCUMENTS (a folder of .txt, .md and .pdf, ranked with BM25) ground the answer; the sources put into the prompt are in the sources field and in a .json OUTPUT_TEXT.</source>
      <translation>Beantwortet eine Frage (PROMPT) zum Raster oder zu EXTENT. OUTPUT enthält den erfassten Umriss mit Frage und Antwort sowie alle Objekte, auf die die Antwort zeigt. CONTEXT_LAYERS (deren Objekte im Bereich) und DOCUMENTS (ein Ordner mit .txt, .md und .pdf, mit BM25 gerankt) stützen die Antwort; die Quellen, die in den Prompt gegeben wurden, stehen im Feld sources und in einem .json-OUTPUT_TEXT.</translation>
    </message>
    <message>
      <source>Question</source>
      <translation>Frage</translation>
    </message>
    <message>
      <source>Answer footprint and objects</source>
      <translation>Umriss der Antwort und Objekte</translation>
    </message>
    <message>
      <source>Answer (.txt / .json)</source>
      <translation>Antwort (.txt / .json)</translation>
    </message>
    <message>
      <source>Other</source>
      <translation>Sonstiges</translation>
    </message>
    <message>
      <source>Prompt</source>
      <translation>Prompt</translation>
    </message>
    <message>
      <source>Describe and ask</source>
      <translation>Beschreiben und fragen</translation>
    </message>
    <message>
      <source>Find objects</source>
      <translation>Objekte finden</translation>
    </message>
    <message>
      <source>Compare dates</source>
      <translation>Zeitpunkte vergleichen</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>Suche</translation>
    </message>
    <message>
      <source>Label and evaluate</source>
      <translation>Beschriften und bewerten</translation>
    </message>
    <message>
      <source>Features</source>
      <translation>Objekte</translation>
    </message>
    <message>
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <source>Text / JSON</source>
      <translation>Text / JSON</translation>
    </message>
    <message>
      <source>Please choose a model (MODEL).</source>
      <translation>Bitte wählen Sie ein Modell (MODEL).</translation>
    </message>
    <message>
      <source>remote sensing</source>
      <translation>Fernerkundung</translation>
    </message>
    <message>
      <source>AI</source>
      <translation>KI</translation>
    </message>
    <message>
      <source>Raster layer (before)</source>
      <translation>Rasterlayer (vorher)</translation>
    </message>
    <message>
      <source>Raster layer</source>
      <translation>Rasterlayer</translation>
    </message>
    <message>
      <source>EXTENT: expected xmin,xmax,ymin,ymax [EPSG:code].</source>
      <translation>EXTENT: erwartet wird xmin,xmax,ymin,ymax [EPSG:Code].</translation>
    </message>
    <message>
      <source>Extent (default: the whole layer)</source>
      <translation>Ausdehnung (Vorgabe: gesamter Layer)</translation>
    </message>
    <message>
      <source>Model (registry name, hub id or local folder)</source>
      <translation>Modell (Registry-Name, Hub-ID oder lokaler Ordner)</translation>
    </message>
    <message>
      <source>Bands to use (default: RGB / the layer's first three)</source>
      <translation>Zu verwendende Bänder (Vorgabe: RGB / die ersten drei des Layers)</translation>
    </message>
    <message>
      <source>Device</source>
      <translation>Gerät</translation>
    </message>
    <message>
      <source>Offline: load models only from the cache or local folders</source>
      <translation>Offline: Modelle nur aus dem Cache oder lokalen Ordnern laden</translation>
    </message>
    <message>
      <source>Please enter a prompt (PROMPT).</source>
      <translation>Bitte geben Sie einen Prompt ein (PROMPT).</translation>
    </message>
    <message>
      <source>The algorithm was not prepared.</source>
      <translation>Der Algorithmus wurde nicht vorbereitet.</translation>
    </message>
    <message>
      <source>Raster layer (after)</source>
      <translation>Rasterlayer (nachher)</translation>
    </message>
    <message>
      <source>Longest side in pixels of each image a model sees: the capture, or each tile when tiling (0 = native resolution)</source>
      <translation>Längste Seite in Pixeln jedes Bildes, das ein Modell sieht: die Aufnahme oder beim Kacheln jede Kachel (0 = native Auflösung)</translation>
    </message>
    <message>
      <source>Text</source>
      <translation>Text</translation>
    </message>
    <message>
      <source>{0}: '{1}' must end in {2}.</source>
      <translation>{0}: „{1}“ muss auf {2} enden.</translation>
    </message>
    <message>
      <source>{0}: choose a raster layer.</source>
      <translation>{0}: Wählen Sie einen Rasterlayer.</translation>
    </message>
    <message>
      <source>EXTENT '{0}' has zero width or height; give xmin,xmax,ymin,ymax with xmin &lt; xmax and ymin &lt; ymax.</source>
      <translation>EXTENT „{0}“ hat die Breite oder Höhe null; geben Sie xmin,xmax,ymin,ymax mit xmin &lt; xmax und ymin &lt; ymax an.</translation>
    </message>
    <message>
      <source>EXTENT crosses the antimeridian, where '{0}' is split in two; run once for each side (east and west of 180 degrees).</source>
      <translation>EXTENT überquert den Antimeridian, an dem „{0}“ in zwei Teile zerfällt; führen Sie den Algorithmus für jede Seite einzeln aus (östlich und westlich von 180 Grad).</translation>
    </message>
    <message>
      <source>Replaced the existing output '{0}'.</source>
      <translation>Die vorhandene Ausgabe „{0}“ wurde ersetzt.</translation>
    </message>
    <message>
      <source>{0} layer '{1}' in '{2}'; its other layers are kept: {3}.</source>
      <translation>{0} Layer „{1}“ in „{2}“; die übrigen Layer bleiben erhalten: {3}.</translation>
    </message>
    <message>
      <source>Replacing</source>
      <translation>Ersetze</translation>
    </message>
    <message>
      <source>Adding</source>
      <translation>Ergänze</translation>
    </message>
    <message>
      <source>Removed '{0}', left by an interrupted run.</source>
      <translation>„{0}“ aus einem unterbrochenen Lauf wurde entfernt.</translation>
    </message>
    <message>
      <source>This run produced no raster to write.</source>
      <translation>Dieser Durchlauf hat kein Raster zum Schreiben erzeugt.</translation>
    </message>
    <message>
      <source>Could not read or write '{0}': {1}.</source>
      <translation>„{0}“ konnte nicht gelesen oder geschrieben werden: {1}.</translation>
    </message>
    <message>
      <source>eolens:{0} could not finish: {1}</source>
      <translation>eolens:{0} konnte nicht abgeschlossen werden: {1}</translation>
    </message>
    <message>
      <source>Caption image region</source>
      <translation>Bildbereich beschreiben</translation>
    </message>
    <message>
      <source>Describes the raster (or EXTENT of it) in words. OUTPUT holds one polygon, the captured footprint, with the caption; OUTPUT_TEXT optionally saves it as .txt or .json. With a chat model (Qwen-VL), CONTEXT_LAYERS and DOCUMENTS ground the caption in the analyst's features and documents; the sources are written out. TILE_SIZE &gt; 0 captions every tile instead: one polygon per tile, a map of what is where. MAX_SIDE is the longest side of each image a model sees: the capture, or — with TILE_SIZE &gt; 0 — each tile. A tile larger than MAX_SIDE is read at the coarser resolution that makes it MAX_SIDE pixels; 0 = native.</source>
      <translation>Beschreibt das Raster (oder dessen EXTENT) in Worten. OUTPUT enthält ein Polygon, den erfassten Umriss, mit der Bildbeschreibung; OUTPUT_TEXT speichert sie optional als .txt oder .json. Mit einem Chat-Modell (Qwen-VL) stützen CONTEXT_LAYERS und DOCUMENTS die Beschreibung auf die Objekte und Dokumente der Analysierenden; die Quellen werden mit ausgegeben. TILE_SIZE &gt; 0 beschreibt stattdessen jede Kachel: ein Polygon je Kachel, eine Karte dessen, was wo ist. MAX_SIDE ist die längste Seite jedes Bildes, das ein Modell sieht: die Erfassung oder – mit TILE_SIZE &gt; 0 – jede Kachel. Eine Kachel, die größer als MAX_SIDE ist, wird in der gröberen Auflösung gelesen, in der sie MAX_SIDE Pixel groß ist; 0 = nativ.</translation>
    </message>
    <message>
      <source>Caption footprint</source>
      <translation>Umriss der Bildbeschreibung</translation>
    </message>
    <message>
      <source>Caption text (.txt / .json)</source>
      <translation>Bildbeschreibung als Text (.txt / .json)</translation>
    </message>
    <message>
      <source>Tile size in pixels (0 = one caption of the whole extent)</source>
      <translation>Kachelgröße in Pixeln (0 = eine Beschreibung der ganzen Ausdehnung)</translation>
    </message>
    <message>
      <source>Detail</source>
      <translation>Detailgrad</translation>
    </message>
    <message>
      <source>CONTEXT_LAYERS and DOCUMENTS are not used when captioning tile by tile (TILE_SIZE {0}); set TILE_SIZE to 0 for one caption grounded in them.</source>
      <translation>CONTEXT_LAYERS und DOCUMENTS werden beim kachelweisen Beschreiben (TILE_SIZE {0}) nicht verwendet; setzen Sie TILE_SIZE auf 0 für eine Beschreibung, die sich auf sie stützt.</translation>
    </message>
    <message>
      <source>Compare two dates</source>
      <translation>Zwei Zeitpunkte vergleichen</translation>
    </message>
    <message>
      <source>Warps INPUT_B (after) onto the grid of INPUT (before) over their overlap (and EXTENT), then compares them. METHOD spectral needs no model; semantic compares deep features; vlm also writes a change caption with a two-image model. OUTPUT_RASTER is the change heat map on INPUT's grid, OUTPUT the change polygons, OUTPUT_TEXT the caption or a summary. THRESHOLD (empty = automatic) cuts the heat map; MIN_AREA drops smaller polygons (square map units of INPUT's CRS). Every method streams block by block when TILE_SIZE &gt; 0 or when the pair does not fit in memory: the heat raster is written block by block and regions cut by a seam stay one polygon. Spectral statistics come from a first pass, so the result does not depend on TILE_SIZE; semantic features are computed per block with 1/8 of a block of context on each side, and the threshold from a sample of every block. MAX_SIDE caps each block (a block larger than it is read coarser). LABEL_MODEL names every region and, with vlm, CAPTION_REGIONS captions the largest regions, each from its own chip of both dates, also on a streamed run.</source>
      <translation>Entzerrt INPUT_B (nachher) auf das Raster von INPUT (vorher) über ihre Überlappung (und EXTENT) und vergleicht beide. METHOD spectral braucht kein Modell; semantic vergleicht tiefe Merkmale; vlm schreibt zusätzlich eine Änderungsbeschreibung mit einem Zwei-Bild-Modell. OUTPUT_RASTER ist die Änderungs-Heatmap auf dem Raster von INPUT, OUTPUT sind die Änderungspolygone, OUTPUT_TEXT die Beschreibung oder eine Zusammenfassung. THRESHOLD (leer = automatisch) schneidet die Heatmap; MIN_AREA verwirft kleinere Polygone (Quadrat-Karteneinheiten des KBS von INPUT). Jede Methode arbeitet blockweise, wenn TILE_SIZE &gt; 0 ist oder das Paar nicht in den Speicher passt: die Heatmap wird Block für Block geschrieben, und von einer Blockgrenze geschnittene Bereiche bleiben ein Polygon. Spektrale Statistiken stammen aus einem ersten Durchlauf, daher hängt das Ergebnis nicht von TILE_SIZE ab; semantische Merkmale werden je Block mit 1/8 Block Kontext an jeder Seite berechnet, der Schwellenwert aus einer Stichprobe aller Blöcke. MAX_SIDE begrenzt jeden Block (ein größerer Block wird gröber gelesen). LABEL_MODEL benennt jeden Bereich, und mit vlm beschreibt CAPTION_REGIONS die größten Bereiche, jeden aus seinem eigenen Ausschnitt beider Zeitpunkte, auch bei blockweiser Verarbeitung.</translation>
    </message>
    <message>
      <source>Change polygons</source>
      <translation>Änderungspolygone</translation>
    </message>
    <message>
      <source>Change heat raster</source>
      <translation>Änderungs-Heatmap</translation>
    </message>
    <message>
      <source>Change caption / summary (.txt / .json)</source>
      <translation>Änderungsbeschreibung / Zusammenfassung (.txt / .json)</translation>
    </message>
    <message>
      <source>Block size in pixels for streaming (0 = automatic: stream only when the pair does not fit in memory)</source>
      <translation>Blockgröße in Pixeln für das Streaming (0 = automatisch: nur streamen, wenn das Paar nicht in den Speicher passt)</translation>
    </message>
    <message>
      <source>Method</source>
      <translation>Methode</translation>
    </message>
    <message>
      <source>Change threshold (empty = automatic)</source>
      <translation>Änderungsschwellenwert (leer = automatisch)</translation>
    </message>
    <message>
      <source>Minimum polygon area (square map units)</source>
      <translation>Minimale Polygonfläche (Karteneinheiten im Quadrat)</translation>
    </message>
    <message>
      <source>CLIP model that names each change region (optional)</source>
      <translation>CLIP-Modell, das jede Änderungsfläche benennt (optional)</translation>
    </message>
    <message>
      <source>Region labels, comma separated (optional)</source>
      <translation>Bezeichnungen der Flächen, durch Kommas getrennt (optional)</translation>
    </message>
    <message>
      <source>vlm: also caption the N largest change regions as chips (0 = none)</source>
      <translation>vlm: zusätzlich die N größten Änderungsflächen als Bildausschnitte beschreiben (0 = keine)</translation>
    </message>
    <message>
      <source>Detect objects (text → boxes)</source>
      <translation>Objekte erkennen (Text → Boxen)</translation>
    </message>
    <message>
      <source>Finds the objects named in PROMPT (for example 'airplanes') and writes one box polygon per object, in the raster's CRS (rotated with the raster when it is rotated). An empty prompt detects every object the model knows. TILE_SIZE &gt; 0 streams the layer tile by tile (small objects survive); boxes repeated across tile seams are merged in map space. MAX_SIDE is the longest side of each image a model sees: the capture, or — with TILE_SIZE &gt; 0 — each tile. A tile larger than MAX_SIDE is read at the coarser resolution that makes it MAX_SIDE pixels; 0 = native.</source>
      <translation>Findet die in PROMPT genannten Objekte (zum Beispiel „Flugzeuge“) und schreibt ein Rechteck-Polygon pro Objekt im KBS des Rasters (mit dem Raster gedreht, wenn es gedreht ist). Ein leerer Prompt erkennt jedes Objekt, das das Modell kennt. TILE_SIZE &gt; 0 verarbeitet den Layer Kachel für Kachel (kleine Objekte bleiben erhalten); an Kachelnähten doppelte Rechtecke werden im Kartenraum zusammengeführt. MAX_SIDE ist die längste Seite jedes Bildes, das ein Modell sieht: die Erfassung oder – mit TILE_SIZE &gt; 0 – jede Kachel. Eine Kachel, die größer als MAX_SIDE ist, wird in der gröberen Auflösung gelesen, in der sie MAX_SIDE Pixel groß ist; 0 = nativ.</translation>
    </message>
    <message>
      <source>What to detect</source>
      <translation>Was erkannt werden soll</translation>
    </message>
    <message>
      <source>Boxes</source>
      <translation>Boxen</translation>
    </message>
    <message>
      <source>Tile size in pixels (0 = one capture of the whole extent)</source>
      <translation>Kachelgröße in Pixeln (0 = eine Erfassung der ganzen Ausdehnung)</translation>
    </message>
    <message>
      <source>Precision</source>
      <translation>Genauigkeit (Precision)</translation>
    </message>
    <message>
      <source>Recall</source>
      <translation>Trefferquote (Recall)</translation>
    </message>
    <message>
      <source>F1 score</source>
      <translation>F1-Wert</translation>
    </message>
    <message>
      <source>Evaluate against a reference (P / R / F1 / IoU / AP)</source>
      <translation>Mit einer Referenz vergleichen (P / R / F1 / IoU / AP)</translation>
    </message>
    <message>
      <source>Scores PREDICTED (a vector layer or a mask raster) against REFERENCE (vector or raster), both reprojected onto the reference's CRS (onto a raster's grid when one side is a raster). Two vector layers are matched object by object, one to one, at IoU &gt;= IOU: precision, recall, F1, mean IoU of the matches and AP (by the predicted 'score' field when there is one); with FIELD_PREDICTED and FIELD_REFERENCE, objects match within their class and per-class figures and a confusion matrix are added. With a raster, pixels are compared (non-zero = positive, nodata ignored). OUTPUT holds the features (or pixel regions) tagged TP / FP / FN with the matched IoU; OUTPUT_TEXT a .json report (precision, recall, f1, iou, ap, tp, fp, fn, ...) or a .txt.</source>
      <translation>Bewertet PREDICTED (ein Vektorlayer oder ein Maskenraster) gegen REFERENCE (Vektor oder Raster), beide in das KBS der Referenz umprojiziert (auf das Raster-Gitter, wenn eine Seite ein Raster ist). Zwei Vektorlayer werden Objekt für Objekt eins zu eins bei IoU &gt;= IOU zugeordnet: Precision, Recall, F1, mittlere IoU der Zuordnungen und AP (nach dem Feld 'score' der Vorhersage, falls vorhanden); mit FIELD_PREDICTED und FIELD_REFERENCE werden Objekte nur innerhalb ihrer Klasse zugeordnet und Werte je Klasse sowie eine Konfusionsmatrix ergänzt. Mit einem Raster werden Pixel verglichen (ungleich null = positiv, NoData wird ignoriert). OUTPUT enthält die Objekte (oder Pixelbereiche), markiert als TP / FP / FN mit der IoU der Zuordnung; OUTPUT_TEXT einen .json-Bericht (precision, recall, f1, iou, ap, tp, fp, fn, ...) oder eine .txt-Datei.</translation>
    </message>
    <message>
      <source>Tagged features (TP / FP / FN)</source>
      <translation>Markierte Objekte (TP / FP / FN)</translation>
    </message>
    <message>
      <source>Report (.json / .txt)</source>
      <translation>Bericht (.json / .txt)</translation>
    </message>
    <message>
      <source>Predicted (vector layer or mask raster)</source>
      <translation>Vorhersage (Vektorlayer oder Maskenraster)</translation>
    </message>
    <message>
      <source>Reference (vector layer or raster)</source>
      <translation>Referenz (Vektorlayer oder Raster)</translation>
    </message>
    <message>
      <source>IoU threshold for matching objects</source>
      <translation>IoU-Schwelle für die Zuordnung von Objekten</translation>
    </message>
    <message>
      <source>Class field of the predicted layer (optional)</source>
      <translation>Klassenfeld der Vorhersage (optional)</translation>
    </message>
    <message>
      <source>Class field of the reference layer (optional)</source>
      <translation>Klassenfeld der Referenz (optional)</translation>
    </message>
    <message>
      <source>Extent (default: everything)</source>
      <translation>Ausdehnung (Standard: alles)</translation>
    </message>
    <message>
      <source>{0}: '{1}' is not a readable vector layer or raster (damaged, truncated or another kind of file).</source>
      <translation>{0}: '{1}' ist kein lesbarer Vektorlayer und kein lesbares Raster (beschädigt, abgeschnitten oder eine andere Dateiart).</translation>
    </message>
    <message>
      <source>Give both FIELD_PREDICTED and FIELD_REFERENCE, or neither.</source>
      <translation>Geben Sie FIELD_PREDICTED und FIELD_REFERENCE beide an oder keines von beiden.</translation>
    </message>
    <message>
      <source>{0}: choose a vector layer or a raster layer.</source>
      <translation>{0}: Wählen Sie einen Vektor- oder Rasterlayer.</translation>
    </message>
    <message>
      <source>{0}: '{1}' does not exist.</source>
      <translation>{0}: '{1}' existiert nicht.</translation>
    </message>
    <message>
      <source>{0}: '{1}' is a folder, not a vector layer or raster file.</source>
      <translation>{0}: '{1}' ist ein Ordner, keine Vektor- oder Rasterdatei.</translation>
    </message>
    <message>
      <source>{0}: '{1}' is empty (0 bytes); it is not a readable vector layer or raster.</source>
      <translation>{0}: '{1}' ist leer (0 Byte); sie ist kein lesbarer Vektorlayer und kein lesbares Raster.</translation>
    </message>
    <message>
      <source>{0}: layer '{1}' has no CRS.</source>
      <translation>{0}: Layer '{1}' hat kein KBS.</translation>
    </message>
    <message>
      <source>{0}: layer '{1}' has no field '{2}'.</source>
      <translation>{0}: Layer '{1}' hat kein Feld '{2}'.</translation>
    </message>
    <message>
      <source>IOU must be a number from {0} to {1} (the least overlap, as intersection over union, for two objects to match); got '{2}'.</source>
      <translation>IOU muss eine Zahl von {0} bis {1} sein (die kleinste Überlappung, als Schnitt durch Vereinigung, damit zwei Objekte zusammenpassen); erhalten: '{2}'.</translation>
    </message>
    <message>
      <source>EXTENT '{0}' is outside both layers, {1} and {2}: nothing to evaluate there; give an extent that covers them (or none for everything).</source>
      <translation>EXTENT '{0}' liegt außerhalb beider Layer, {1} und {2}: dort gibt es nichts zu bewerten; geben Sie eine Ausdehnung an, die sie abdeckt (oder keine für alles).</translation>
    </message>
    <message>
      <source>Cancelled by the user.</source>
      <translation>Vom Benutzer abgebrochen.</translation>
    </message>
    <message>
      <source>{0}: '{1}' is inside the folder {2} reads ('{3}'); choose a file outside it, EO Lens never writes where it reads its inputs.</source>
      <translation>{0}: '{1}' liegt im Ordner, den {2} liest ('{3}'); wählen Sie eine Datei außerhalb davon, EO Lens schreibt nie dorthin, wo es seine Eingaben liest.</translation>
    </message>
    <message>
      <source>Context: vector layers whose features in the area ground the answer</source>
      <translation>Kontext: Vektorlayer, deren Objekte im Bereich die Antwort stützen</translation>
    </message>
    <message>
      <source>Context: a folder of documents (.txt, .md, .pdf)</source>
      <translation>Kontext: ein Ordner mit Dokumenten (.txt, .md, .pdf)</translation>
    </message>
    <message>
      <source>CONTEXT_LAYERS: '{0}' cannot be read as a vector layer (missing, empty, or not a GIS file).</source>
      <translation>CONTEXT_LAYERS: '{0}' kann nicht als Vektorlayer gelesen werden (fehlt, ist leer oder keine GIS-Datei).</translation>
    </message>
    <message>
      <source>CONTEXT_LAYERS: '{0}' is not a vector layer; context layers are points, lines or polygons whose attributes ground the answer.</source>
      <translation>CONTEXT_LAYERS: '{0}' ist kein Vektorlayer; Kontextlayer sind Punkte, Linien oder Polygone, deren Attribute die Antwort stützen.</translation>
    </message>
    <message>
      <source>Index rasters (archive search)</source>
      <translation>Raster indexieren (Archivsuche)</translation>
    </message>
    <message>
      <source>Cuts every raster of INPUTS and/or FOLDER (searched in sub-folders too; a file pattern such as /data/**/*.tif also works) into TILE_SIZE tiles at native resolution, embeds each tile with a remote-sensing CLIP model and stores footprints and embeddings in one GeoPackage (INDEX). Running it again updates the index: unchanged files are skipped, changed ones re-embedded, deleted ones removed. An index keeps one model; a file that cannot be read is reported and skipped.</source>
      <translation>Zerlegt jedes Raster aus INPUTS und/oder FOLDER (auch in Unterordnern gesucht; ein Dateimuster wie /data/**/*.tif funktioniert ebenfalls) in TILE_SIZE-Kacheln in nativer Auflösung, bettet jede Kachel mit einem Fernerkundungs-CLIP-Modell ein und speichert Umrisse und Embeddings in einem GeoPackage (INDEX). Ein erneuter Lauf aktualisiert den Index: Unveränderte Dateien werden übersprungen, geänderte neu eingebettet, gelöschte entfernt. Ein Index bleibt bei einem Modell; eine Datei, die nicht gelesen werden kann, wird gemeldet und übersprungen.</translation>
    </message>
    <message>
      <source>a vector layer</source>
      <translation>ein Vektorlayer</translation>
    </message>
    <message>
      <source>not a raster</source>
      <translation>kein Raster</translation>
    </message>
    <message>
      <source>Raster layers</source>
      <translation>Rasterlayer</translation>
    </message>
    <message>
      <source>Folder of rasters (or a file pattern)</source>
      <translation>Ordner mit Rastern (oder ein Dateimuster)</translation>
    </message>
    <message>
      <source>Index file (created or updated)</source>
      <translation>Indexdatei (wird erstellt oder aktualisiert)</translation>
    </message>
    <message>
      <source>GeoPackage (*.gpkg)</source>
      <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
      <source>Tile size (pixels)</source>
      <translation>Kachelgröße (Pixel)</translation>
    </message>
    <message>
      <source>Tile overlap (pixels)</source>
      <translation>Kachelüberlappung (Pixel)</translation>
    </message>
    <message>
      <source>Summary</source>
      <translation>Zusammenfassung</translation>
    </message>
    <message>
      <source>Tiles in the index</source>
      <translation>Kacheln im Index</translation>
    </message>
    <message>
      <source>INPUTS: '{0}' is {1}; INPUTS takes raster layers (or give a folder of rasters as FOLDER).</source>
      <translation>INPUTS: '{0}' ist {1}; INPUTS nimmt Rasterlayer (oder geben Sie einen Ordner mit Rastern als FOLDER an).</translation>
    </message>
    <message>
      <source>INPUTS: layer '{0}' ({1}) is not a local raster file; the index reads files, so save it as a GeoTIFF first.</source>
      <translation>INPUTS: Layer '{0}' ({1}) ist keine lokale Rasterdatei; der Index liest Dateien, speichern Sie ihn also zuerst als GeoTIFF.</translation>
    </message>
    <message>
      <source>Files {0}</source>
      <translation>Dateien: {0}</translation>
    </message>
    <message>
      <source>Features labelled</source>
      <translation>Beschriftete Objekte</translation>
    </message>
    <message>
      <source>Features already labelled (skipped)</source>
      <translation>Bereits beschriftete Objekte (übersprungen)</translation>
    </message>
    <message>
      <source>Features that could not be labelled</source>
      <translation>Objekte, die nicht beschriftet werden konnten</translation>
    </message>
    <message>
      <source>Label features (CLIP class / VLM answer per feature)</source>
      <translation>Objekte beschriften (CLIP-Klasse / VLM-Antwort je Objekt)</translation>
    </message>
    <message>
      <source>For every feature of FEATURES (selected features only when ticked), reads the raster under it (its bounding box grown by BUFFER: map units of the raster's CRS, or a percentage such as 20%) and asks the model. MODE classify picks one of CLASSES (comma separated) with a CLIP model and writes label, score and all class scores; ask answers PROMPT with a chat model; caption describes each chip. OUTPUT is a copy of the features (in their own CRS) with the new fields; features outside the raster or on nodata get an empty label and a reason. Re-running with the same OUTPUT skips the features already labelled, so a cancelled run can be continued. EXTENT limits the run to the features that intersect it.</source>
      <translation>Liest für jedes Objekt von FEATURES (nur die gewählten, wenn angehakt) das Raster darunter (sein umschließendes Rechteck, um BUFFER vergrößert: Karteneinheiten des Raster-KBS oder ein Prozentsatz wie 20%) und fragt das Modell. MODE classify wählt mit einem CLIP-Modell eine der CLASSES (durch Kommas getrennt) und schreibt label, score und alle Klassenwerte; ask beantwortet PROMPT mit einem Chat-Modell; caption beschreibt jeden Ausschnitt. OUTPUT ist eine Kopie der Objekte (in ihrem eigenen KBS) mit den neuen Feldern; Objekte außerhalb des Rasters oder auf NoData erhalten ein leeres Label und einen Grund. Ein erneuter Lauf mit demselben OUTPUT überspringt die bereits beschrifteten Objekte, sodass ein abgebrochener Lauf fortgesetzt werden kann. EXTENT beschränkt den Lauf auf die Objekte, die sie schneiden.</translation>
    </message>
    <message>
      <source>Question (MODE ask)</source>
      <translation>Frage (MODE ask)</translation>
    </message>
    <message>
      <source>Labelled features</source>
      <translation>Beschriftete Objekte (Ausgabe)</translation>
    </message>
    <message>
      <source>Features to label</source>
      <translation>Zu beschriftende Objekte</translation>
    </message>
    <message>
      <source>Mode</source>
      <translation>Modus</translation>
    </message>
    <message>
      <source>Classes, comma separated (MODE classify)</source>
      <translation>Klassen, durch Kommas getrennt (MODE classify)</translation>
    </message>
    <message>
      <source>Context around each feature (map units, or a percentage like 20%)</source>
      <translation>Umgebung um jedes Objekt (Karteneinheiten oder ein Prozentsatz wie 20%)</translation>
    </message>
    <message>
      <source>FEATURES: choose a vector layer.</source>
      <translation>FEATURES: Wählen Sie einen Vektorlayer.</translation>
    </message>
    <message>
      <source>Label features</source>
      <translation>Objekte beschriften</translation>
    </message>
    <message>
      <source>FEATURES: '{0}' is not a vector layer QGIS can read (missing, damaged or another kind of file).</source>
      <translation>FEATURES: '{0}' ist kein Vektorlayer, den QGIS lesen kann (fehlt, ist beschädigt oder eine andere Art von Datei).</translation>
    </message>
    <message>
      <source>at most {0}</source>
      <translation>höchstens {0}</translation>
    </message>
    <message>
      <source>from {0} to {1}</source>
      <translation>von {0} bis {1}</translation>
    </message>
    <message>
      <source>at least {0}</source>
      <translation>mindestens {0}</translation>
    </message>
    <message>
      <source>a whole number</source>
      <translation>eine ganze Zahl</translation>
    </message>
    <message>
      <source>a finite number</source>
      <translation>eine endliche Zahl</translation>
    </message>
    <message>
      <source>{0}: '{1}' is not one of the choices; use {2}.</source>
      <translation>{0}: '{1}' ist keine der Auswahlmöglichkeiten; verwenden Sie {2}.</translation>
    </message>
    <message>
      <source>{0}: '{1}' is not {2}.</source>
      <translation>{0}: '{1}' ist nicht {2}.</translation>
    </message>
    <message>
      <source>{0}: '{1}' is out of range; give a value {2}.</source>
      <translation>{0}: '{1}' liegt außerhalb des gültigen Bereichs; geben Sie einen Wert {2} an.</translation>
    </message>
    <message>
      <source>; give a value {0}.</source>
      <translation>; geben Sie einen Wert {0} an.</translation>
    </message>
    <message>
      <source>Search scene (text → heat map)</source>
      <translation>Szene durchsuchen (Text → Heatmap)</translation>
    </message>
    <message>
      <source>Tiles the raster (or EXTENT) at native resolution, embeds each TILE_SIZE tile with a remote-sensing CLIP model and scores it against PROMPT (for example 'a harbour with ships'). OUTPUT_RASTER is the similarity heat map; OUTPUT holds the TOP_K tile footprints with rank and score.</source>
      <translation>Zerlegt das Raster (oder EXTENT) in native Auflösung in Kacheln, bettet jede TILE_SIZE-Kachel mit einem Fernerkundungs-CLIP-Modell ein und bewertet sie gegen PROMPT (zum Beispiel „ein Hafen mit Schiffen“). OUTPUT_RASTER ist die Ähnlichkeits-Heatmap; OUTPUT enthält die Umrisse der TOP_K Kacheln mit Rang und Wert.</translation>
    </message>
    <message>
      <source>Search query</source>
      <translation>Suchanfrage</translation>
    </message>
    <message>
      <source>Top tiles</source>
      <translation>Beste Kacheln</translation>
    </message>
    <message>
      <source>Similarity heat raster</source>
      <translation>Ähnlichkeits-Heatmap</translation>
    </message>
    <message>
      <source>Number of top tiles</source>
      <translation>Anzahl der besten Kacheln</translation>
    </message>
    <message>
      <source>TOP_K must be at least 1.</source>
      <translation>TOP_K muss mindestens 1 sein.</translation>
    </message>
    <message>
      <source>TILE_SIZE must be at least 16 pixels.</source>
      <translation>TILE_SIZE muss mindestens 16 Pixel betragen.</translation>
    </message>
    <message>
      <source>OVERLAP must be at least 0 and smaller than TILE_SIZE.</source>
      <translation>OVERLAP muss mindestens 0 und kleiner als TILE_SIZE sein.</translation>
    </message>
    <message>
      <source>Search an archive index (text or example → top tiles)</source>
      <translation>Archivindex durchsuchen (Text oder Beispiel → beste Kacheln)</translation>
    </message>
    <message>
      <source>Finds the TOP_K tiles of an index built by 'Index rasters' that best match PROMPT (for example 'a flooded road'), or that look most like the EXTENT of the EXAMPLE raster ('more like this'). OUTPUT holds their footprints (EPSG:4326) with rank, score (cosine similarity) and source (the raster's path). The index's own model is used unless MODEL names the same model in another place.</source>
      <translation>Findet die TOP_K Kacheln eines mit „Raster indexieren“ erstellten Index, die am besten zu PROMPT passen (zum Beispiel „eine überflutete Straße“) oder dem EXTENT des EXAMPLE-Rasters am ähnlichsten sehen („Ähnliches finden“). OUTPUT enthält ihre Umrisse (EPSG:4326) mit rank, score (Kosinus-Ähnlichkeit) und source (Pfad des Rasters). Verwendet wird das Modell des Index, sofern MODEL nicht dasselbe Modell an einem anderen Ort angibt.</translation>
    </message>
    <message>
      <source>Model (default: the one the index was built with)</source>
      <translation>Modell (Vorgabe: das Modell, mit dem der Index erstellt wurde)</translation>
    </message>
    <message>
      <source>Index file</source>
      <translation>Indexdatei</translation>
    </message>
    <message>
      <source>Search query (or use an example)</source>
      <translation>Suchanfrage (oder ein Beispiel verwenden)</translation>
    </message>
    <message>
      <source>Example raster ('more like this')</source>
      <translation>Beispielraster („Ähnliches finden“)</translation>
    </message>
    <message>
      <source>Example region (default: the whole example raster)</source>
      <translation>Beispielbereich (Vorgabe: das gesamte Beispielraster)</translation>
    </message>
    <message>
      <source>EXAMPLE: '{0}' is not a raster layer QGIS can open.</source>
      <translation>EXAMPLE: '{0}' ist kein Rasterlayer, den QGIS öffnen kann.</translation>
    </message>
    <message>
      <source>Segment objects (text → masks)</source>
      <translation>Objekte segmentieren (Text → Masken)</translation>
    </message>
    <message>
      <source>Outlines what PROMPT names (for example 'buildings'). OUTPUT_RASTER is a 0/1 mask on the captured grid; OUTPUT holds one polygon per mask. SAM_MODEL optionally refines the boxes with a SAM model. TILE_SIZE &gt; 0 streams the layer tile by tile: the mask is written block by block on the layer's grid (any size) and regions cut by a seam are merged into one polygon. MAX_SIDE is the longest side of each image a model sees: the capture, or — with TILE_SIZE &gt; 0 — each tile. A tile larger than MAX_SIDE is read at the coarser resolution that makes it MAX_SIDE pixels (the mask then lies on that coarser grid); 0 = native.</source>
      <translation>Umreißt, was PROMPT nennt (zum Beispiel „Gebäude“). OUTPUT_RASTER ist eine 0/1-Maske auf dem erfassten Raster; OUTPUT enthält ein Polygon pro Maske. SAM_MODEL verfeinert die Rechtecke optional mit einem SAM-Modell. TILE_SIZE &gt; 0 verarbeitet den Layer Kachel für Kachel: die Maske wird Block für Block auf dem Raster des Layers geschrieben (beliebige Größe), und von einer Naht geschnittene Bereiche werden zu einem Polygon zusammengeführt. MAX_SIDE ist die längste Seite jedes Bildes, das ein Modell sieht: die Erfassung oder – mit TILE_SIZE &gt; 0 – jede Kachel. Eine Kachel, die größer als MAX_SIDE ist, wird in der gröberen Auflösung gelesen, in der sie MAX_SIDE Pixel groß ist (die Maske liegt dann auf diesem gröberen Raster); 0 = nativ.</translation>
    </message>
    <message>
      <source>What to outline</source>
      <translation>Was umrissen werden soll</translation>
    </message>
    <message>
      <source>Mask polygons</source>
      <translation>Maskenpolygone</translation>
    </message>
    <message>
      <source>Mask raster</source>
      <translation>Maskenraster</translation>
    </message>
    <message>
      <source>SAM model to refine boxes into masks (optional)</source>
      <translation>SAM-Modell, das Boxen zu Masken verfeinert (optional)</translation>
    </message>
    <message>
      <source>Stopped by a termination signal ({0}): removing the unfinished outputs.</source>
      <translation>Durch ein Beendigungssignal ({0}) gestoppt: die unfertigen Ausgaben werden entfernt.</translation>
    </message>
    <message>
      <source>Tile overlap in pixels (objects cut by a seam are merged)</source>
      <translation>Kachelüberlappung in Pixeln (von einer Naht geschnittene Objekte werden zusammengeführt)</translation>
    </message>
  </context>
  <context>
    <name>ExportDialog</name>
    <message>
      <source>Export polygons</source>
      <translation>Polygone exportieren</translation>
    </message>
    <message>
      <source>Layer</source>
      <translation>Layer</translation>
    </message>
    <message>
      <source>Format</source>
      <translation>Format</translation>
    </message>
    <message>
      <source>File</source>
      <translation>Datei</translation>
    </message>
  </context>
  <context>
    <name>FindPanel</name>
    <message>
      <source>What to find, e.g. airplanes, storage tanks, buildings</source>
      <translation>Gesuchte Objekte, z. B. Flugzeuge, Lagertanks, Gebäude</translation>
    </message>
    <message>
      <source>Whole layer, tile by tile</source>
      <translation>Ganzer Layer, Kachel für Kachel</translation>
    </message>
    <message>
      <source>Run over the whole layer tile by tile, at native resolution</source>
      <translation>Den ganzen Layer Kachel für Kachel in nativer Auflösung durchlaufen</translation>
    </message>
    <message>
      <source>Find boxes</source>
      <translation>Boxen finden</translation>
    </message>
    <message>
      <source>Find masks</source>
      <translation>Masken finden</translation>
    </message>
    <message>
      <source>Click points</source>
      <translation>Punkte klicken</translation>
    </message>
    <message>
      <source>Drag box</source>
      <translation>Box aufziehen</translation>
    </message>
    <message>
      <source>Clear</source>
      <translation>Leeren</translation>
    </message>
    <message>
      <source>Segment</source>
      <translation>Segmentieren</translation>
    </message>
    <message>
      <source>Export polygons…</source>
      <translation>Polygone exportieren…</translation>
    </message>
    <message>
      <source>Label features…</source>
      <translation>Objekte beschriften…</translation>
    </message>
    <message>
      <source>A VLM answer, caption or CLIP class for every feature of the active vector layer (its selection, if any), in the eolens:label dialog</source>
      <translation>Eine VLM-Antwort, Bildbeschreibung oder CLIP-Klasse für jedes Objekt des aktiven Vektorlayers (nur die Auswahl, falls vorhanden), im Dialog von eolens:label</translation>
    </message>
    <message>
      <source>in this layer</source>
      <translation>in diesem Layer</translation>
    </message>
    <message>
      <source>Found for '{}': 1 region.</source>
      <translation>Gefunden für „{}“: 1 Fläche.</translation>
    </message>
    <message>
      <source>Found for '{}': {} regions.</source>
      <translation>Gefunden für „{}“: {} Flächen.</translation>
    </message>
    <message>
      <source>Segmenting the clicked objects</source>
      <translation>Angeklickte Objekte werden segmentiert</translation>
    </message>
    <message>
      <source>Or outline by hand: left-click = include, right-click = exclude</source>
      <translation>Oder von Hand umreißen: Linksklick = einschließen, Rechtsklick = ausschließen</translation>
    </message>
    <message>
      <source>No objects found for '{}' {}.</source>
      <translation>Keine Objekte für „{}“ {} gefunden.</translation>
    </message>
    <message>
      <source>objects</source>
      <translation>Objekte</translation>
    </message>
    <message>
      <source>points/box</source>
      <translation>Punkte/Box</translation>
    </message>
    <message>
      <source>Nothing to export yet.</source>
      <translation>Noch nichts zu exportieren.</translation>
    </message>
    <message>
      <source>Whole-layer detection</source>
      <translation>Erkennung über den ganzen Layer</translation>
    </message>
    <message>
      <source>Whole-layer segmentation</source>
      <translation>Segmentierung über den ganzen Layer</translation>
    </message>
    <message>
      <source>Boxes: {}</source>
      <translation>Rahmen: {}</translation>
    </message>
    <message>
      <source>Finding {}</source>
      <translation>Suche nach {}</translation>
    </message>
    <message>
      <source>Segmenting {}</source>
      <translation>Segmentierung: {}</translation>
    </message>
    <message>
      <source>Mask polygons: {}</source>
      <translation>Maskenpolygone: {}</translation>
    </message>
    <message>
      <source>{} points ({} include, {} exclude), {} boxes</source>
      <translation>{} Punkte ({} einschließen, {} ausschließen), {} Boxen</translation>
    </message>
    <message>
      <source>Exported {} features to {}</source>
      <translation>{} Objekte nach {} exportiert</translation>
    </message>
    <message>
      <source>{} objects found.</source>
      <translation>{} Objekte gefunden.</translation>
    </message>
    <message>
      <source>Mask: {}</source>
      <translation>Maske: {}</translation>
    </message>
  </context>
  <context>
    <name>SearchPanel</name>
    <message>
      <source>Archive index (*.gpkg)</source>
      <translation>Archivindex (*.gpkg)</translation>
    </message>
    <message>
      <source>Choose an archive index</source>
      <translation>Archivindex wählen</translation>
    </message>
    <message>
      <source>No index: search the chosen layer</source>
      <translation>Kein Index: den gewählten Layer durchsuchen</translation>
    </message>
    <message>
      <source>An index file built with Index rasters… (eolens:index); with one chosen, the search covers every raster in it</source>
      <translation>Eine mit „Raster indizieren…“ (eolens:index) erstellte Indexdatei; ist eine gewählt, durchsucht die Suche jedes Raster darin</translation>
    </message>
    <message>
      <source>#{}  {}  score {:.3f}</source>
      <translation>#{}  {}  Wert {:.3f}</translation>
    </message>
    <message>
      <source>{} (tile at column {}, row {}); cosine similarity {:.4f}</source>
      <translation>{} (Kachel bei Spalte {}, Zeile {}); Kosinus-Ähnlichkeit {:.4f}</translation>
    </message>
    <message>
      <source>e.g. a harbour with ships</source>
      <translation>z. B. ein Hafen mit Schiffen</translation>
    </message>
    <message>
      <source>Query</source>
      <translation>Suchanfrage</translation>
    </message>
    <message>
      <source>Top K</source>
      <translation>Top K</translation>
    </message>
    <message>
      <source>Tile size (px)</source>
      <translation>Kachelgröße (px)</translation>
    </message>
    <message>
      <source>Index</source>
      <translation>Index</translation>
    </message>
    <message>
      <source>Search the layer</source>
      <translation>Layer durchsuchen</translation>
    </message>
    <message>
      <source>More like this</source>
      <translation>Ähnliche suchen</translation>
    </message>
    <message>
      <source>Search the index for tiles like the tile selected in the list, or like the drawn rectangle (Area: Drawn rectangle)</source>
      <translation>Den Index nach Kacheln durchsuchen, die der in der Liste gewählten Kachel ähneln, oder dem gezeichneten Rechteck (Bereich: Gezeichnetes Rechteck)</translation>
    </message>
    <message>
      <source>Score: 0–100 within this search (100 = the best tile). Click to zoom to a tile and select it on the map.</source>
      <translation>Wert: 0–100 innerhalb dieser Suche (100 = die beste Kachel). Klicken zoomt auf die Kachel und wählt sie auf der Karte aus.</translation>
    </message>
    <message>
      <source>Land-cover classes, comma separated: water, forest, urban</source>
      <translation>Landbedeckungsklassen, kommagetrennt: Wasser, Wald, Siedlung</translation>
    </message>
    <message>
      <source>Zero-shot land-cover map</source>
      <translation>Zero-Shot-Landbedeckungskarte</translation>
    </message>
    <message>
      <source>Index rasters…</source>
      <translation>Raster indizieren…</translation>
    </message>
    <message>
      <source>Embed the tiles of many rasters once into an index file (eolens:index), then search them all</source>
      <translation>Die Kacheln vieler Raster einmal in eine Indexdatei einbetten (eolens:index) und dann alle durchsuchen</translation>
    </message>
    <message>
      <source>Search an index…</source>
      <translation>Index durchsuchen…</translation>
    </message>
    <message>
      <source>Classifying tiles</source>
      <translation>Kacheln werden klassifiziert</translation>
    </message>
    <message>
      <source>high</source>
      <translation>hoch</translation>
    </message>
    <message>
      <source>Search the index</source>
      <translation>Index durchsuchen</translation>
    </message>
    <message>
      <source>Select a tile in the list, or draw a rectangle on a layer (Draw…), then More like this.</source>
      <translation>Wählen Sie eine Kachel in der Liste oder zeichnen Sie ein Rechteck auf einem Layer (Zeichnen…), dann „Ähnliche suchen“.</translation>
    </message>
    <message>
      <source>Type what to search for, or use More like this.</source>
      <translation>Geben Sie ein, wonach gesucht werden soll, oder verwenden Sie „Ähnliche suchen“.</translation>
    </message>
    <message>
      <source>'{}'</source>
      <translation>„{}“</translation>
    </message>
    <message>
      <source>Searching the index for {}</source>
      <translation>Index wird durchsucht nach {}</translation>
    </message>
    <message>
      <source>tiles like #{} of {}</source>
      <translation>Kacheln wie #{} aus {}</translation>
    </message>
    <message>
      <source>The index '{}' holds no tiles to match.</source>
      <translation>Der Index „{}“ enthält keine Kacheln zum Vergleichen.</translation>
    </message>
    <message>
      <source>Top {} {} from {} raster(s).</source>
      <translation>Top {}: {} aus {} Raster(n).</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>Suche</translation>
    </message>
    <message>
      <source>Searching for '{}'</source>
      <translation>Suche nach „{}“</translation>
    </message>
    <message>
      <source>No tile could be scored for '{}' {}: the area has no valid pixels.</source>
      <translation>Für „{}“ {} konnte keine Kachel bewertet werden: Der Bereich hat keine gültigen Pixel.</translation>
    </message>
    <message>
      <source>Top {}: {}</source>
      <translation>Beste {}: {}</translation>
    </message>
    <message>
      <source>Only {} of the {} tiles asked for qualified: the area holds {} tiles of {} px with valid pixels.</source>
      <translation>Nur {} der {} gewünschten Kacheln kamen in Frage: Der Bereich enthält {} Kacheln zu {} px mit gültigen Pixeln.</translation>
    </message>
    <message>
      <source>Top {} tiles for '{}'.</source>
      <translation>Die besten {} Kacheln für „{}“.</translation>
    </message>
    <message>
      <source>Land-cover mapping</source>
      <translation>Landbedeckungskartierung</translation>
    </message>
    <message>
      <source>The index file '{}' does not exist; build one with Index rasters….</source>
      <translation>Die Indexdatei „{}“ existiert nicht; erstellen Sie eine mit „Raster indizieren…“.</translation>
    </message>
    <message>
      <source>tiles like the drawn rectangle on {}</source>
      <translation>Kacheln wie das gezeichnete Rechteck auf {}</translation>
    </message>
    <message>
      <source>The raster '{}' is not there any more.</source>
      <translation>Das Raster „{}“ ist nicht mehr vorhanden.</translation>
    </message>
    <message>
      <source>Similarity: {}</source>
      <translation>Ähnlichkeit: {}</translation>
    </message>
    <message>
      <source>#{}  score {:.0f}  at {}</source>
      <translation>#{}  Wert {:.0f}  bei {}</translation>
    </message>
    <message>
      <source>Cosine similarity {:.4f} (scene range {:.4f} … {:.4f})</source>
      <translation>Kosinus-Ähnlichkeit {:.4f} (Spanne der Szene {:.4f} … {:.4f})</translation>
    </message>
    <message>
      <source>Land cover: {}</source>
      <translation>Landbedeckung: {}</translation>
    </message>
    <message>
      <source>Similarity heat map: low</source>
      <translation>Ähnlichkeitskarte: niedrig</translation>
    </message>
  </context>
  <context>
    <name>SettingsDialog</name>
    <message>
      <source>Caption</source>
      <translation>Bildbeschreibung</translation>
    </message>
    <message>
      <source>Detect (text → boxes)</source>
      <translation>Erkennen (Text → Boxen)</translation>
    </message>
    <message>
      <source>Segment (text → masks)</source>
      <translation>Segmentieren (Text → Masken)</translation>
    </message>
    <message>
      <source>Segment (points / box)</source>
      <translation>Segmentieren (Punkte / Box)</translation>
    </message>
    <message>
      <source>Chat</source>
      <translation>Chat</translation>
    </message>
    <message>
      <source>Change caption</source>
      <translation>Änderungsbeschreibung</translation>
    </message>
    <message>
      <source>Change features (semantic)</source>
      <translation>Änderungsmerkmale (semantisch)</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>Suche</translation>
    </message>
    <message>
      <source>EO Lens settings</source>
      <translation>EO-Lens-Einstellungen</translation>
    </message>
    <message>
      <source>Device</source>
      <translation>Gerät</translation>
    </message>
    <message>
      <source>Offline: load only from the cache or local folders</source>
      <translation>Offline: nur aus dem Cache oder lokalen Ordnern laden</translation>
    </message>
    <message>
      <source>Local model folder</source>
      <translation>Lokaler Modellordner</translation>
    </message>
    <message>
      <source>Download cache</source>
      <translation>Download-Cache</translation>
    </message>
    <message>
      <source>Fit large captures to the model (decimated read)</source>
      <translation>Große Erfassungen an das Modell anpassen (dezimiertes Lesen)</translation>
    </message>
    <message>
      <source>Capture</source>
      <translation>Erfassung</translation>
    </message>
    <message>
      <source>GDAL's block cache while EO Lens reads rasters (QGIS's own default is 5 % of RAM); it bounds the memory of whole-layer runs</source>
      <translation>GDAL-Blockcache, während EO Lens Raster liest (QGIS selbst nutzt 5 % des RAM); er begrenzt den Speicher bei Läufen über ganze Layer</translation>
    </message>
    <message>
      <source>Raster read cache</source>
      <translation>Cache für Rasterlesen</translation>
    </message>
    <message>
      <source>Capture what the map shows (rendered, with layer styles) instead of the file's pixels</source>
      <translation>Erfassen, was die Karte zeigt (gerendert, mit Layerstilen), statt der Pixel der Datei</translation>
    </message>
    <message>
      <source>Allow model code from the hub (only for revision-pinned models)</source>
      <translation>Modellcode aus dem Hub erlauben (nur für Modelle mit fester Revision)</translation>
    </message>
    <message>
      <source>Download selected</source>
      <translation>Auswahl herunterladen</translation>
    </message>
    <message>
      <source>Cancel download</source>
      <translation>Download abbrechen</translation>
    </message>
    <message>
      <source>Free GPU memory</source>
      <translation>GPU-Speicher freigeben</translation>
    </message>
    <message>
      <source>GPU memory freed</source>
      <translation>GPU-Speicher freigegeben</translation>
    </message>
    <message>
      <source>A registry name, a hub id (org/name or org/name@revision) or a local folder</source>
      <translation>Ein Registry-Name, eine Hub-ID (org/name oder org/name@revision) oder ein lokaler Ordner</translation>
    </message>
    <message>
      <source>HF_HUB_OFFLINE is set in QGIS's environment: EO Lens and Processing are offline whatever this box says.</source>
      <translation>HF_HUB_OFFLINE ist in der Umgebung von QGIS gesetzt: EO Lens und Processing arbeiten offline, egal was dieses Kästchen sagt.</translation>
    </message>
    <message>
      <source>Model</source>
      <translation>Modell</translation>
    </message>
    <message>
      <source>Tasks</source>
      <translation>Aufgaben</translation>
    </message>
    <message>
      <source>Size</source>
      <translation>Größe</translation>
    </message>
    <message>
      <source>Licence</source>
      <translation>Lizenz</translation>
    </message>
    <message>
      <source>Downloaded</source>
      <translation>Heruntergeladen</translation>
    </message>
    <message>
      <source>yes</source>
      <translation>ja</translation>
    </message>
    <message>
      <source>no</source>
      <translation>nein</translation>
    </message>
    <message>
      <source>Downloading {}</source>
      <translation>{} wird heruntergeladen</translation>
    </message>
  </context>
</TS>
